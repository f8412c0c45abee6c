// Outbound routing state derived from one Snapshot: compiled route table, policies by service,
// endpoints by service. Immutable; a new snapshot builds a new one, and requests already past the
// layers that read it keep what they picked.
import { DEFAULT_NAMESPACE, serviceIdentity } from "../../shared/identity.js";
import type { DestinationPolicySpec } from "../../shared/schema/destination-policy.js";
import { namespaceOf, qualifyService, splitServiceKey } from "../../shared/service-key.js";
import type { Snapshot } from "../../shared/snapshot.js";
import type { Endpoint } from "../core/handler.js";
import { buildRouteTable, type RouteTable } from "../filters/route/table.js";
import { poolKey } from "../upstream/pools.js";

export interface OutboundState {
  readonly version: string;
  readonly routeTable: RouteTable;
  /** By service key ("<namespace>/<service>"); each spec's `service` is that key. */
  readonly policies: ReadonlyMap<string, DestinationPolicySpec>;
  /** By service key ("<namespace>/<service>"). */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Pool keys of every endpoint: pools not in here are closed. */
  readonly poolKeys: ReadonlySet<string>;
  /** Concrete targets ("ns/svc", "ns/svc/subset") that may be asked for: picker cache entries to keep. */
  readonly concretes: ReadonlySet<string>;
  /** MeshConfig outboundTrafficPolicy.mode: what happens to hosts outside the mesh. */
  readonly egress: "ALLOW_ANY" | "REGISTRY_ONLY";
  /**
   * Every service any snapshot since the sidecar started named (endpoints entry, route host or
   * backend, DestinationPolicy). Such a name never falls back to egress: a mesh service that
   * briefly has no endpoints answers 503, its traffic is never sent in plaintext to its bare name.
   */
  readonly meshServices: ReadonlySet<string>;
}

export const EMPTY_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

/**
 * State for a sidecar in `namespace`. Snapshot endpoint keys are service keys; a short key (a
 * static --config file, an older control plane) is a service of the sidecar's own namespace.
 * `seen`: the previous state's meshServices (a name once in the mesh stays there).
 */
export function buildOutboundState(snap: Snapshot, namespace: string = DEFAULT_NAMESPACE, seen: ReadonlySet<string> = new Set()): OutboundState {
  const trustDomain = snap.meshConfig.trustDomain;
  const endpoints = new Map<string, Endpoint[]>();
  const poolKeys = new Set<string>();
  const concretes = new Set<string>();
  for (const [name, records] of Object.entries(snap.endpoints)) {
    const key = qualifyService(name, namespace);
    // The identity a peer must prove comes from the service key, never from what an endpoint
    // record says about itself: an instance of another namespace cannot answer for this service.
    const { namespace: ns, service } = splitServiceKey(key);
    const identity = serviceIdentity(service, trustDomain, ns);
    const list = records.map((r) => ({ address: `${r.address}:${r.port}`, host: r.address, port: r.port, labels: r.labels, identity }));
    for (const ep of list) poolKeys.add(poolKey(ep));
    endpoints.set(key, [...(endpoints.get(key) ?? []), ...list]);
    concretes.add(key);
  }
  const policies = new Map<string, DestinationPolicySpec>();
  for (const p of snap.policies) {
    const key = qualifyService(p.spec.service, namespaceOf(p));
    policies.set(key, { ...p.spec, service: key });
    for (const s of p.spec.subsets ?? []) concretes.add(`${key}/${s.name}`);
  }
  const egress = snap.meshConfig.outboundTrafficPolicy?.mode ?? "ALLOW_ANY";
  const meshServices = new Set(seen);
  for (const service of endpoints.keys()) meshServices.add(service);
  for (const service of policies.keys()) meshServices.add(service);
  for (const r of snap.routes) {
    const ns = namespaceOf(r);
    for (const h of r.spec.hosts) meshServices.add(qualifyService(h, ns));
    for (const rule of r.spec.rules) for (const b of rule.backends) meshServices.add(qualifyService(b.service, ns));
  }
  return { version: snap.version, routeTable: buildRouteTable(snap.routes, namespace), policies, endpoints, poolKeys, concretes, egress, meshServices };
}
