// What one sidecar needs to serve traffic: the unit the control plane pushes (Discovery.Stream,
// snapshot_json) and the format of the sidecar's static `--config FILE` and last-known-good cache.
import type { AuthorizationPolicy, DestinationPolicy, HTTPRoute } from "./schema/kinds.js";
import type { MeshConfigSpec } from "./schema/mesh-config.js";

export interface EndpointRecord {
  service: string;
  instanceId: string;
  /** Address of the instance's sidecar inbound listener. */
  address: string;
  port: number;
  labels: Record<string, string>;
  /** Namespace of the instance's SPIFFE ID (proved by its certificate); "default" when absent. */
  namespace?: string;
  /** Set by a deliberate deregistration just before the record is deleted: config push drops it at once. */
  draining?: boolean;
}

export interface Snapshot {
  /** Opaque, monotonically increasing per control plane cluster (derived from the etcd revision). */
  version: string;
  meshConfig: MeshConfigSpec;
  routes: HTTPRoute[];
  policies: DestinationPolicy[];
  authz: AuthorizationPolicy[];
  /** Endpoints by service name. */
  endpoints: Record<string, EndpointRecord[]>;
  /** PEM trust anchors; several during an anchor rotation. */
  trustBundle: string[];
}
