// A pushed snapshot is checked before anything uses it: every resource through the shared schema
// (validateResource, via the sidecar's config parser), endpoints well-formed, the version the one
// the response announced, and every route backend known in endpoints. Any failure -> NACK.
import type { DiscoveryResponseMsg } from "../../shared/proto/load.js";
import { namespaceOf, qualifyService } from "../../shared/service-key.js";
import type { Snapshot } from "../../shared/snapshot.js";
import { parseSnapshot } from "../config/snapshot-file.js";

export class SnapshotRejected extends Error {
  readonly code = "TSMESH_ERR_CONFIG_REJECTED";
}

export function validateResponse(res: DiscoveryResponseMsg): Snapshot {
  let snap: Snapshot;
  try {
    snap = parseSnapshot(res.snapshotJson);
  } catch (err) {
    throw new SnapshotRejected((err as Error).message);
  }
  if (snap.version !== res.versionInfo) throw new SnapshotRejected(`snapshot version ${snap.version} differs from version_info ${res.versionInfo}`);
  for (const r of snap.routes) {
    const ns = namespaceOf(r);
    r.spec.rules.forEach((rule, i) => {
      for (const b of rule.backends) {
        // Keyed "<namespace>/<service>"; a control plane from before namespaces keys by short name.
        const known = Object.hasOwn(snap.endpoints, qualifyService(b.service, ns)) || Object.hasOwn(snap.endpoints, b.service);
        if (!known) throw new SnapshotRejected(`routes[${r.metadata.name}].rules[${i}]: backend service ${b.service} has no endpoints entry`);
      }
    });
  }
  if (snap.trustBundle.length === 0 && res.trustBundlePem.length > 0) snap = { ...snap, trustBundle: [...res.trustBundlePem] };
  return snap;
}
