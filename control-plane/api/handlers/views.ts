// Read-only views: /api/v1/services (derived from endpoints + routes), /api/v1/endpoints,
// /api/v1/sidecars (status records written by config push).
import { DEFAULT_NAMESPACE } from "../../../shared/identity.js";
import { namespaceOf, qualifyService, serviceKey, splitServiceKey } from "../../../shared/service-key.js";
import type { ApiContext, ApiResult } from "../router.js";

/** `?service=shop/reviews` (a short name is in the default namespace). */
export async function listEndpoints(ctx: ApiContext): Promise<ApiResult> {
  const service = ctx.url.searchParams.get("service") ?? undefined;
  const { items, revision } = await ctx.store.listEndpoints(service);
  const withNamespace = items.map((e) => ({ ...e, namespace: e.namespace ?? DEFAULT_NAMESPACE }));
  return { status: 200, body: { kind: "EndpointList", metadata: { resourceVersion: String(revision) }, items: withNamespace } };
}

export async function listSidecars(ctx: ApiContext): Promise<ApiResult> {
  return { status: 200, body: { kind: "SidecarList", items: await ctx.store.listSidecars() } };
}

interface ServiceView {
  name: string;
  namespace: string;
  endpoints: number;
  /** HTTPRoutes that name the service as a host or a backend. */
  routes: string[];
}

export async function listServices(ctx: ApiContext): Promise<ApiResult> {
  const [endpoints, routes] = await Promise.all([ctx.store.listEndpoints(), ctx.store.list("HTTPRoute")]);
  const views = new Map<string, ServiceView>();
  const view = (key: string) => {
    let v = views.get(key);
    if (!v) {
      const { namespace, service } = splitServiceKey(key);
      views.set(key, (v = { name: service, namespace, endpoints: 0, routes: [] }));
    }
    return v;
  };
  for (const ep of endpoints.items) view(serviceKey(ep.namespace ?? DEFAULT_NAMESPACE, ep.service)).endpoints++;
  for (const route of routes.items) {
    const ns = namespaceOf(route);
    const names = new Set([...route.spec.hosts, ...route.spec.rules.flatMap((r) => r.backends.map((b) => b.service))].map((s) => qualifyService(s, ns)));
    for (const name of names) view(name).routes.push(route.metadata.name);
  }
  const items = [...views.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  return { status: 200, body: { kind: "ServiceList", items } };
}
