// Outlier layer (per attempt, inside the balancer layer): reports how the attempt on ctx.endpoint
// ended. A per-try or route timeout counts as a failure the moment it fires, so a hanging
// endpoint is ejected even if its request never returns; a client abort counts as nothing.
import type { Middleware } from "../../core/handler.js";
import { destinationService } from "../../filters/split/pick.js";
import { isTimeoutReason } from "../../filters/timeout/deadline.js";
import { failureOf } from "../../filters/retry/policy.js";
import type { OutlierDetectors } from "./detectors.js";
import type { EndpointOutcome } from "./detector.js";

export function outlierLayer(detectors: OutlierDetectors): Middleware {
  return (next) => async (req, ctx) => {
    const endpoint = ctx.endpoint;
    const detector = endpoint && detectors.for(destinationService(ctx), ctx.destination?.outlierDetection);
    if (!detector) return next(req, ctx);
    let reported = false;
    const report = (outcome: EndpointOutcome) => {
      if (reported) return;
      reported = true;
      detector.report(endpoint.address, outcome);
    };
    const onAbort = () => {
      if (isTimeoutReason(req.signal.reason)) report("timeout");
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await next(req, ctx);
      report(res.status >= 500 ? "5xx" : "success");
      return res;
    } catch (err) {
      // The client went away (whatever failure kind its abort reason carries): not the endpoint's fault.
      if (req.signal.aborted && !isTimeoutReason(req.signal.reason)) throw err;
      const failure = failureOf(err);
      if (failure === "connect-failure" || failure === "reset" || failure === "timeout") report(failure);
      throw err;
    } finally {
      req.signal.removeEventListener("abort", onAbort);
    }
  };
}
