// Split layer: logical -> concrete. Chooses one weighted backend of ctx.rule and attaches the
// DestinationPolicy of its service (limits, load balancer, outlier detection, retry budget).
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import { MeshError, type Middleware } from "../../core/handler.js";
import { concreteName, pickBackend } from "./pick.js";

export function splitLayer(
  getPolicy: (service: string) => DestinationPolicySpec | undefined,
  random: () => number = Math.random,
): Middleware {
  return (next) => (req, ctx) => {
    const backends = ctx.rule?.backends ?? (ctx.logical ? [{ service: ctx.logical, weight: 1 }] : []);
    const backend = pickBackend(backends, random);
    if (!backend) {
      return Promise.reject(new MeshError(500, "TSMESH_ERR_NO_BACKEND", `route ${ctx.route ?? "?"} has no backend with a weight above 0`));
    }
    ctx.concrete = concreteName(backend);
    ctx.destination = getPolicy(backend.service);
    return next(req, ctx);
  };
}
