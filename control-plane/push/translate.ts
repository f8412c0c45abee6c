// Store state -> the snapshot one sidecar serves from. PURE: no I/O, no clock, no randomness; the
// same state and node always give the same snapshot (go-control-plane's translation step).
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import type { NodeInfo } from "../../shared/node-info.js";
import type { HTTPRoute } from "../../shared/schema/kinds.js";
import { meshConfigSpec } from "../../shared/schema/mesh-config.js";
import { namespaceOf, qualifyService, serviceKey } from "../../shared/service-key.js";
import type { EndpointRecord, Snapshot } from "../../shared/snapshot.js";
import type { MeshState } from "./state.js";

const byName = <T extends { metadata: { name: string } }>(a: T, b: T) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

/** Service keys a route names as hosts and backends, short names resolved in its namespace. */
function routeServices(r: HTTPRoute): { hosts: string[]; backends: string[][] } {
  const ns = namespaceOf(r);
  return { hosts: r.spec.hosts.map((h) => qualifyService(h, ns)), backends: r.spec.rules.map((rule) => rule.backends.map((b) => qualifyService(b.service, ns))) };
}

const endpointServiceKey = (e: EndpointRecord) => serviceKey(e.namespace ?? DEFAULT_NAMESPACE, e.service);

/**
 * Services ("<namespace>/<service>") a sidecar of `node` may need endpoints for: every route host
 * and backend, every service with registered endpoints or a destination policy, and its own.
 */
export function reachableServices(state: MeshState, node: NodeInfo): string[] {
  const names = new Set<string>([serviceKey(node.namespace ?? DEFAULT_NAMESPACE, node.service)]);
  for (const r of state.routes) {
    const { hosts, backends } = routeServices(r);
    for (const h of hosts) names.add(h);
    for (const b of backends.flat()) names.add(b);
  }
  for (const e of state.endpoints) names.add(endpointServiceKey(e));
  for (const p of state.policies) names.add(qualifyService(p.spec.service, namespaceOf(p)));
  return [...names].sort();
}

/** Endpoints are keyed "<namespace>/<service>": peers verify them as that namespace's service. */
export function buildSnapshot(state: MeshState, node: NodeInfo): Snapshot {
  const endpoints: Record<string, EndpointRecord[]> = {};
  for (const s of reachableServices(state, node)) endpoints[s] = [];
  for (const e of state.endpoints) endpoints[endpointServiceKey(e)]?.push(e);
  for (const list of Object.values(endpoints)) list.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  // Schema defaults applied here so every sidecar sees the same effective mesh config; a stored
  // spec that no longer parses (schema changed under it) falls back to the defaults.
  const parsed = meshConfigSpec.safeParse(state.meshConfig?.spec ?? {});
  const meshConfig = parsed.success ? parsed.data : meshConfigSpec.parse({});
  return {
    version: String(state.revision),
    meshConfig,
    routes: [...state.routes].sort(byName),
    policies: [...state.policies].sort(byName),
    authz: [...state.authz].sort(byName),
    endpoints,
    trustBundle: [...state.trustBundle],
  };
}

/**
 * Consistency check before a snapshot is published: every service a route names (host or
 * backend) and every policy's service has an entry in `endpoints` (possibly empty). Returns the
 * problems; empty means consistent.
 */
export function checkSnapshot(s: Snapshot): string[] {
  const problems: string[] = [];
  if (!/^\d+$/.test(s.version)) problems.push(`version "${s.version}" is not an etcd revision`);
  const need = (service: string, where: string) => {
    if (!Object.hasOwn(s.endpoints, service)) problems.push(`${where} names service "${service}" which has no endpoints entry`);
  };
  for (const r of s.routes) {
    const { hosts, backends } = routeServices(r);
    for (const h of hosts) need(h, `HTTPRoute ${r.metadata.name} host`);
    backends.forEach((list, i) => list.forEach((b) => need(b, `HTTPRoute ${r.metadata.name} rules[${i}] backend`)));
  }
  for (const p of s.policies) need(qualifyService(p.spec.service, namespaceOf(p)), `DestinationPolicy ${p.metadata.name}`);
  for (const [service, list] of Object.entries(s.endpoints)) {
    for (const e of list) if (endpointServiceKey(e) !== service) problems.push(`endpoint ${e.instanceId} of ${endpointServiceKey(e)} filed under ${service}`);
  }
  return problems;
}
