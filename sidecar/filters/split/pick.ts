// Weighted split between a rule's backends (Gateway API backendRefs weights).
import type { RouteBackend } from "../../../shared/schema/http-route.js";

/** Picks a backend with probability weight/total; undefined when every weight is 0. */
export function pickBackend(backends: readonly RouteBackend[], random: () => number = Math.random): RouteBackend | undefined {
  if (backends.length === 1) return backends[0]!.weight > 0 ? backends[0] : undefined;
  let total = 0;
  for (const b of backends) total += b.weight;
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const b of backends) {
    if (b.weight <= 0) continue;
    if (point < b.weight) return b;
    point -= b.weight;
  }
  // Floating point edge (random() close to 1): the last backend with weight.
  return [...backends].reverse().find((b) => b.weight > 0);
}

/** "shop/reviews" or "shop/reviews/v2": the concrete target name used for pools, breakers and metrics. */
export function concreteName(backend: RouteBackend): string {
  return backend.subset ? `${backend.service}/${backend.subset}` : backend.service;
}

/** Splits a concrete name back into service ("<namespace>/<service>") and subset. */
export function parseConcrete(concrete: string): { service: string; subset?: string } {
  const first = concrete.indexOf("/");
  const slash = first === -1 ? -1 : concrete.indexOf("/", first + 1);
  return slash === -1 ? { service: concrete } : { service: concrete.slice(0, slash), subset: concrete.slice(slash + 1) };
}

/** The destination service of a request once split: its policy's service, else the concrete/logical name. */
export function destinationService(ctx: { destination?: { service: string }; concrete?: string; logical?: string }): string {
  return ctx.destination?.service ?? parseConcrete(ctx.concrete ?? ctx.logical ?? "").service;
}
