// Outbound routing state derived from one Snapshot: compiled route table, policies by service,
// endpoints by service. Immutable; a new snapshot builds a new one, and requests already past the
// layers that read it keep what they picked.
import { serviceIdentity } from "../../shared/identity.js";
import type { DestinationPolicySpec } from "../../shared/schema/destination-policy.js";
import type { Snapshot } from "../../shared/snapshot.js";
import type { Endpoint } from "../core/handler.js";
import { buildRouteTable, type RouteTable } from "../filters/route/table.js";
import { poolKey } from "../upstream/pools.js";

export interface OutboundState {
  readonly version: string;
  readonly routeTable: RouteTable;
  readonly policies: ReadonlyMap<string, DestinationPolicySpec>;
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Pool keys of every endpoint: pools not in here are closed. */
  readonly poolKeys: ReadonlySet<string>;
  /** Concrete targets ("svc", "svc/subset") that may be asked for: picker cache entries to keep. */
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

/** `seen`: the previous state's meshServices (a name once in the mesh stays there). */
export function buildOutboundState(snap: Snapshot, seen: ReadonlySet<string> = new Set()): OutboundState {
  const trustDomain = snap.meshConfig.trustDomain;
  const endpoints = new Map<string, Endpoint[]>();
  const poolKeys = new Set<string>();
  const concretes = new Set<string>();
  for (const [service, records] of Object.entries(snap.endpoints)) {
    const list = records.map((r) => ({
      address: `${r.address}:${r.port}`,
      host: r.address,
      port: r.port,
      labels: r.labels,
      identity: serviceIdentity(service, trustDomain, r.namespace),
    }));
    for (const ep of list) poolKeys.add(poolKey(ep));
    endpoints.set(service, list);
    concretes.add(service);
  }
  const policies = new Map<string, DestinationPolicySpec>();
  for (const p of snap.policies) {
    policies.set(p.spec.service, p.spec);
    for (const s of p.spec.subsets ?? []) concretes.add(`${p.spec.service}/${s.name}`);
  }
  const egress = snap.meshConfig.outboundTrafficPolicy?.mode ?? "ALLOW_ANY";
  const meshServices = new Set(seen);
  for (const service of endpoints.keys()) meshServices.add(service);
  for (const service of policies.keys()) meshServices.add(service);
  for (const r of snap.routes) {
    for (const h of r.spec.hosts) meshServices.add(h);
    for (const rule of r.spec.rules) for (const b of rule.backends) meshServices.add(b.service);
  }
  return { version: snap.version, routeTable: buildRouteTable(snap.routes), policies, endpoints, poolKeys, concretes, egress, meshServices };
}
