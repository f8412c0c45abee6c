// The part of etcd a snapshot is built from, as plain immutable data. `stateFromKvs` is pure:
// the same keys and revision always give the same state, on every replica.
import type { AuthorizationPolicy, DestinationPolicy, HTTPRoute, Kind, MeshConfig, Resource } from "../../shared/schema/kinds.js";
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import type { EndpointRecord } from "../../shared/snapshot.js";
import { TRUST_BUNDLE_KEY, parseKey } from "../store/keys.js";

export interface MeshState {
  /** etcd revision the state is valid at: the snapshot version. */
  revision: number;
  routes: HTTPRoute[];
  policies: DestinationPolicy[];
  authz: AuthorizationPolicy[];
  meshConfig?: MeshConfig;
  endpoints: EndpointRecord[];
  trustBundle: string[];
}

export interface KV {
  key: string;
  value: string;
  modRevision: number;
}

/** Keys whose change changes what sidecars serve (not tokens, certs, sidecar status records). */
export function isRelevantKey(key: string): boolean {
  if (key === TRUST_BUNDLE_KEY) return true;
  const p = parseKey(key);
  return p.type === "resource" || p.type === "endpoint";
}

export interface StateProblem {
  key: string;
  error: string;
}

/**
 * Builds the state from the relevant keys (others are ignored). Values that are not JSON are
 * skipped and reported in `problems`, so one corrupt key never blocks every other update.
 */
export function stateFromKvs(kvs: Iterable<KV>, revision: number): { state: MeshState; problems: StateProblem[] } {
  const state: MeshState = { revision, routes: [], policies: [], authz: [], endpoints: [], trustBundle: [] };
  const problems: StateProblem[] = [];
  const sorted = [...kvs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const kv of sorted) {
    let value: unknown;
    try {
      value = JSON.parse(kv.value);
    } catch (err) {
      if (isRelevantKey(kv.key)) problems.push({ key: kv.key, error: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (kv.key === TRUST_BUNDLE_KEY) {
      const pems = (value as { pems?: unknown }).pems;
      if (Array.isArray(pems) && pems.every((p) => typeof p === "string")) state.trustBundle = pems;
      else problems.push({ key: kv.key, error: "expected {\"pems\": [PEM, ...]}" });
      continue;
    }
    const p = parseKey(kv.key);
    if (p.type === "endpoint") {
      // The key says whose endpoint this is (the control plane wrote it from the certificate);
      // a key of the older layout has no namespace segment: its record's (also from the
      // certificate), else the default namespace. A draining one is being deregistered: peers
      // stop sending to it now (the delete follows).
      const record = value as EndpointRecord;
      if (record.draining !== true) state.endpoints.push({ ...record, service: p.service, namespace: p.namespace ?? record.namespace ?? DEFAULT_NAMESPACE });
    } else if (p.type === "resource") {
      // resourceVersion is never stored: it is the key's mod revision (see store/resources.ts).
      const res = value as Resource<Kind>;
      const withVersion = { ...res, metadata: { ...res.metadata, resourceVersion: String(kv.modRevision) } };
      if (p.kind === "HTTPRoute") state.routes.push(withVersion as HTTPRoute);
      else if (p.kind === "DestinationPolicy") state.policies.push(withVersion as DestinationPolicy);
      else if (p.kind === "AuthorizationPolicy") state.authz.push(withVersion as AuthorizationPolicy);
      else if (p.kind === "MeshConfig" && p.name === "default") state.meshConfig = withVersion as MeshConfig;
    }
  }
  return { state, problems };
}
