// /api/v1/{routes,policies,authz,meshconfig}[/name]: list, get, put (create/update), delete.
import { kindOfPlural, type Kind } from "../../../shared/schema/kinds.js";
import { validateResource } from "../../../shared/schema/validate.js";
import { readJson } from "../body.js";
import { badRequest, notFound } from "../errors.js";
import type { ApiContext, ApiResult } from "../router.js";

function kindOf(ctx: ApiContext): Kind {
  const kind = kindOfPlural(ctx.params.plural);
  if (!kind) throw notFound(`resource type "${ctx.params.plural}"`);
  return kind;
}

export async function listResources(ctx: ApiContext): Promise<ApiResult> {
  const kind = kindOf(ctx);
  const { items, revision } = await ctx.store.list(kind);
  return { status: 200, body: { kind: `${kind}List`, metadata: { resourceVersion: String(revision) }, items } };
}

export async function getResource(ctx: ApiContext): Promise<ApiResult> {
  const kind = kindOf(ctx);
  const name = ctx.params.name!;
  const res = await ctx.store.get(kind, name);
  if (!res) throw notFound(`${kind} "${name}"`);
  return { status: 200, body: res };
}

export async function putResource(ctx: ApiContext): Promise<ApiResult> {
  const kind = kindOf(ctx);
  const body = await readJson(ctx.req);
  const checked = validateResource(body, kind);
  if (!checked.ok) throw badRequest(checked.error, checked.field);
  const name = ctx.params.name!;
  if (checked.resource.metadata.name !== name) {
    throw badRequest(`metadata.name "${checked.resource.metadata.name}" does not match "${name}" in the path`, "metadata.name");
  }
  const { resource, created } = await ctx.store.upsert(checked.resource);
  return { status: created ? 201 : 200, body: resource };
}

export async function deleteResource(ctx: ApiContext): Promise<ApiResult> {
  const kind = kindOf(ctx);
  const name = ctx.params.name!;
  const rv = ctx.url.searchParams.get("resourceVersion") ?? undefined;
  if (rv !== undefined && !/^\d+$/.test(rv)) throw badRequest("resourceVersion must be a decimal etcd revision", "resourceVersion");
  if (!(await ctx.store.delete(kind, name, rv))) throw notFound(`${kind} "${name}"`);
  return { status: 200, body: { kind, name, deleted: true } };
}
