// Circuit breaker gate on the data path: one slot of the destination's maxRequests per request
// (retries included), held until the response body is finished. Overflow -> 503 at once.
import { invoke, MeshError, type Middleware } from "../../core/handler.js";
import { releaseWhenDone } from "../../upstream/balancer/response-done.js";
import { destinationService } from "../split/pick.js";
import type { CircuitBreakers } from "./breakers.js";

export function circuitBreakerLayer(breakers: CircuitBreakers): Middleware {
  return (next) => async (req, ctx) => {
    const limits = breakers.for(destinationService(ctx), ctx.destination?.connectionPool);
    if (!limits) return next(req, ctx);
    let release: () => void;
    try {
      release = await limits.acquire(req.signal);
    } catch (err) {
      if (err instanceof MeshError && err.failure === "overflow") ctx.annotations.overflow = String(err.headers["x-tsmesh-overflow"]);
      throw err;
    }
    return releaseWhenDone(invoke(next, req, ctx), release);
  };
}
