// Retry mechanism (the decision is policy.ts): replays a buffered request body on a retriable
// outcome, after a jittered backoff, within the retry budget and the breaker's maxRetries.
// Decides on status and headers only, so a response handed to the caller is never retried; a
// discarded failed response is drained or destroyed. Each attempt gets the per-try timeout.
import type { Endpoint, MeshRequest, MeshResponse, Middleware, RequestContext } from "../../core/handler.js";
import { discardResponse } from "../../upstream/balancer/response-done.js";
import { destinationService } from "../split/pick.js";
import { withTimeout } from "../timeout/deadline.js";
import type { RetryBudgets } from "./budget.js";
import { DEFAULT_MAX_BUFFER_BYTES, makeReplayable } from "./body.js";
import { decide, failureOf, toRetryPolicy, type AttemptOutcome } from "./policy.js";
import { sleep } from "../timeout/sleep.js";

export interface RetryLayerOptions {
  budgets: RetryBudgets;
  /** Concurrent-retry limit (circuit breaker maxRetries): a release function, or undefined when full. */
  acquireRetry?: (ctx: RequestContext) => (() => void) | undefined;
  /** Largest request body buffered for replay (default 1 MiB). */
  maxBufferBytes?: number;
  random?: () => number;
}

export function retryLayer(options: RetryLayerOptions): Middleware {
  const cap = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  const random = options.random ?? Math.random;
  return (next) => async (req, ctx) => {
    const policy = toRetryPolicy(ctx.rule?.retry);
    let request: MeshRequest = req;
    let replayable = policy.maxRetries > 0;
    if (replayable) {
      const made = await makeReplayable(req.body, cap);
      request = made.body === req.body ? req : { ...req, body: made.body };
      replayable = made.replayable;
      if (!replayable) ctx.annotations.retrySkipped = "body-too-large";
    }
    const budget = options.budgets.for(destinationService(ctx), ctx.destination?.retryBudget);
    budget.startRequest();
    let releaseRetry: (() => void) | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        ctx.attempt = attempt;
        ctx.endpoint = undefined;
        let res: MeshResponse | undefined;
        let error: unknown;
        try {
          res = await withTimeout(policy.perTryTimeoutMs, "per-try", request, (r) => next(r, ctx));
        } catch (err) {
          error = err;
        } finally {
          if (releaseRetry) {
            releaseRetry();
            releaseRetry = undefined;
            budget.endRetry();
          }
        }
        const outcome: AttemptOutcome = res ? { kind: "response", status: res.status } : { kind: "error", failure: failureOf(error) };
        const decision = decide(policy, attempt, outcome, random);
        const finish = () => {
          if (res) return res;
          throw error;
        };
        if (!decision.retry || !replayable || req.signal.aborted) return finish();
        const release = options.acquireRetry ? options.acquireRetry(ctx) : () => {};
        if (!release) {
          ctx.annotations.retrySkipped = "max-retries";
          return finish();
        }
        if (!budget.tryStartRetry()) {
          release();
          ctx.annotations.retrySkipped = "budget";
          return finish();
        }
        releaseRetry = release;
        // Set by the balancer during the attempt (TypeScript still sees the reset above).
        const failed = ctx.endpoint as Endpoint | undefined;
        if (failed) ctx.failedEndpoints.add(failed.address);
        if (res) discardResponse(res);
        ctx.annotations.retries = attempt + 1;
        await sleep(decision.delayMs, request.signal);
      }
    } finally {
      if (releaseRetry) {
        releaseRetry();
        budget.endRetry();
      }
      budget.endRequest();
    }
  };
}
