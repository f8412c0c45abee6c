// Subsets (DestinationPolicy.subsets): a named label selector over a service's endpoints.
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { Endpoint } from "../../core/handler.js";

/** Endpoints of `subset`; all endpoints without a subset; none for a subset the policy does not define. */
export function subsetEndpoints(
  endpoints: readonly Endpoint[],
  policy: DestinationPolicySpec | undefined,
  subset: string | undefined,
): readonly Endpoint[] {
  if (subset === undefined) return endpoints;
  const def = policy?.subsets?.find((s) => s.name === subset);
  if (!def) return [];
  const wanted = Object.entries(def.labels);
  return endpoints.filter((e) => wanted.every(([k, v]) => e.labels[k] === v));
}
