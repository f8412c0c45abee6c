// Resource limits per destination service, created when a DestinationPolicy sets a connection
// pool and reconfigured in place on policy changes (in-flight counts carry over).
import { followSpec } from "../../core/follow-spec.js";
import type { RequestContext } from "../../core/handler.js";
import { destinationService } from "../split/pick.js";
import { ResourceLimits, type LimitsSpec, type Release } from "./limits.js";

export class CircuitBreakers {
  private readonly limits = new Map<string, ResourceLimits>();

  /** Limits of `service`, or undefined when its policy sets none. */
  for(service: string, spec: LimitsSpec | undefined): ResourceLimits | undefined {
    return followSpec(this.limits, service, spec, (s) => new ResourceLimits(service, s));
  }

  /** For the retry layer's acquireRetry option: maxRetries of the request's destination. */
  acquireRetry = (ctx: RequestContext): Release | undefined => {
    const limits = this.for(destinationService(ctx), ctx.destination?.connectionPool);
    return limits ? limits.tryAcquireRetry() : () => {};
  };

  /** `tsmesh_circuit_open{destination}`: 1 while some limit of the destination is saturated. */
  openStates(): { destination: string; open: boolean }[] {
    return [...this.limits.values()].map((l) => ({ destination: l.service, open: l.state().open }));
  }
}
