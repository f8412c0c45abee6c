// Bounds of a workload certificate's lifetime, one rule for `--cert-ttl` and MeshConfig
// `spec.certificates.workloadTTL`. Sidecars renew at 2/3 of the lifetime, so the last third is
// the time a renewal has to get through a control-plane or etcd outage: at 10 minutes that is
// still over 3 minutes. There is no revocation, so the lifetime is how long a leaked key stays
// good: 30 days at most.
import { isDuration, parseDuration } from "./duration.js";

export const MIN_WORKLOAD_TTL_MS = 10 * 60_000;
export const MAX_WORKLOAD_TTL_MS = 720 * 3_600_000;
export const WORKLOAD_TTL_RULE = "must be a duration from 10m to 720h (30 days), e.g. 24h";

export function isWorkloadTtl(text: string): boolean {
  if (!isDuration(text)) return false;
  const ms = parseDuration(text);
  return ms >= MIN_WORKLOAD_TTL_MS && ms <= MAX_WORKLOAD_TTL_MS;
}

/** Milliseconds of a valid lifetime; throws with the rule otherwise. */
export function parseWorkloadTtl(text: string): number {
  if (!isWorkloadTtl(text)) throw new Error(`${WORKLOAD_TTL_RULE} (got "${text}")`);
  return parseDuration(text);
}
