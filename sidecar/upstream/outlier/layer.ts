// Outlier layer (per attempt, inside the balancer layer): reports how the attempt on ctx.endpoint
// ended. A per-try or route timeout counts as a failure (the upstream client rethrows the abort
// reason, a TimeoutError); a client abort counts as nothing.
import type { Middleware } from "../../core/handler.js";
import { destinationService } from "../../filters/split/pick.js";
import { isTimeoutReason } from "../../filters/timeout/deadline.js";
import { failureOf } from "../../filters/retry/policy.js";
import type { OutlierDetectors } from "./detectors.js";

export function outlierLayer(detectors: OutlierDetectors): Middleware {
  return (next) => async (req, ctx) => {
    const endpoint = ctx.endpoint;
    const detector = endpoint && detectors.for(destinationService(ctx), ctx.destination?.outlierDetection);
    if (!detector) return next(req, ctx);
    let res;
    try {
      res = await next(req, ctx);
    } catch (err) {
      // The client went away (whatever failure kind its abort reason carries): not the endpoint's fault.
      if (req.signal.aborted && !isTimeoutReason(req.signal.reason)) throw err;
      const failure = req.signal.aborted ? "timeout" : failureOf(err);
      if (failure === "connect-failure" || failure === "reset" || failure === "timeout") detector.report(endpoint.address, failure);
      throw err;
    }
    detector.report(endpoint.address, res.status >= 500 ? "5xx" : "success");
    return res;
  };
}
