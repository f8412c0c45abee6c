// Read-only views: /api/v1/services (derived from endpoints + routes), /api/v1/endpoints,
// /api/v1/sidecars (status records written by config push).
import type { ApiContext, ApiResult } from "../router.js";

export async function listEndpoints(ctx: ApiContext): Promise<ApiResult> {
  const service = ctx.url.searchParams.get("service") ?? undefined;
  const { items, revision } = await ctx.store.listEndpoints(service);
  return { status: 200, body: { kind: "EndpointList", metadata: { resourceVersion: String(revision) }, items } };
}

export async function listSidecars(ctx: ApiContext): Promise<ApiResult> {
  return { status: 200, body: { kind: "SidecarList", items: await ctx.store.listSidecars() } };
}

interface ServiceView {
  name: string;
  endpoints: number;
  /** HTTPRoutes that name the service as a host or a backend. */
  routes: string[];
}

export async function listServices(ctx: ApiContext): Promise<ApiResult> {
  const [endpoints, routes] = await Promise.all([ctx.store.listEndpoints(), ctx.store.list("HTTPRoute")]);
  const views = new Map<string, ServiceView>();
  const view = (name: string) => {
    let v = views.get(name);
    if (!v) views.set(name, (v = { name, endpoints: 0, routes: [] }));
    return v;
  };
  for (const ep of endpoints.items) view(ep.service).endpoints++;
  for (const route of routes.items) {
    const names = new Set([...route.spec.hosts, ...route.spec.rules.flatMap((r) => r.backends.map((b) => b.service))]);
    for (const name of names) view(name).routes.push(route.metadata.name);
  }
  const items = [...views.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { status: 200, body: { kind: "ServiceList", items } };
}
