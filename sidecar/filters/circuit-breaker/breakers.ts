// Resource limits per destination service, created when a DestinationPolicy sets a connection
// pool and reconfigured in place on policy changes (in-flight counts carry over).
import type { RequestContext } from "../../core/handler.js";
import { destinationService } from "../split/pick.js";
import { ResourceLimits, type LimitsSpec, type Release } from "./limits.js";

export class CircuitBreakers {
  private readonly limits = new Map<string, ResourceLimits>();

  /** Limits of `service`, or undefined when its policy sets none. */
  for(service: string, spec: LimitsSpec | undefined): ResourceLimits | undefined {
    const existing = this.limits.get(service);
    if (!spec) {
      // In-flight releases hold their ResourceLimits directly; forgetting it here is safe.
      if (existing) this.limits.delete(service);
      return undefined;
    }
    if (existing) {
      existing.configure(spec);
      return existing;
    }
    const created = new ResourceLimits(service, spec);
    this.limits.set(service, created);
    return created;
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
