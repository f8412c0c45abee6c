// Retry mechanism (the decision is policy.ts): replays the recorded request body on a retriable
// outcome, after a jittered backoff, within the retry budget and the breaker's maxRetries.
// Decides on status and headers only, so a response handed to the caller is never retried; a
// discarded failed response is drained or destroyed. Each attempt gets the per-try timeout.
import type { Endpoint, MeshRequest, MeshResponse, Middleware, RequestContext } from "../../core/handler.js";
import { discardResponse } from "../../upstream/balancer/response-done.js";
import { destinationService } from "../split/pick.js";
import { withTimeout } from "../timeout/deadline.js";
import type { RetryBudgets } from "./budget.js";
import { DEFAULT_MAX_BUFFER_BYTES, replayable } from "./body.js";
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
    if (policy.maxRetries === 0) return withTimeout(policy.perTryTimeoutMs, "per-try", req, (r) => next(r, ctx));
    const body = replayable(req.body, cap);
    let request: MeshRequest = body.first === req.body ? req : { ...req, body: body.first };
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
        if (!decision.retry || req.signal.aborted) return finish();
        // The body must have ended within the cap to be replayed; give it the backoff time to.
        const waitStart = Date.now();
        if (!(await body.ready(decision.delayMs))) {
          ctx.annotations.retrySkipped = body.state() === "reading" ? "body-incomplete" : "body-too-large";
          return finish();
        }
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
        request = { ...req, body: body.replay() };
        await sleep(Math.max(0, decision.delayMs - (Date.now() - waitStart)), req.signal);
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
