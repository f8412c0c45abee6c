// Retry mechanism (the decision is policy.ts): replays the recorded request body on a retriable
// outcome, after a jittered backoff, within the retry budget and the breaker's maxRetries.
// Decides on status and headers only (a gRPC status only from a trailers-only response), so a
// response handed to the caller is never retried; a discarded failed response is drained or
// destroyed. Each attempt gets the per-try timeout.
// A connect failure is retried at once on an endpoint not yet tried, whatever the route, the
// budget or the breaker say: nothing reached the app, so it is always safe (Envoy, linkerd2-proxy).
import type { Endpoint, MeshRequest, MeshResponse, Middleware, RequestContext } from "../../core/handler.js";
import { discardResponse } from "../../upstream/balancer/response-done.js";
import { destinationService } from "../split/pick.js";
import { withTimeout } from "../timeout/deadline.js";
import type { RetryBudgets } from "./budget.js";
import { DEFAULT_MAX_BUFFER_BYTES, replayable, unrecorded, type ReplayableBody } from "./body.js";
import { DEFAULT_BACKOFF_BASE_MS } from "./defaults.js";
import { decide, failureOf, grpcStatusOf, toRetryPolicy, type AttemptOutcome } from "./policy.js";
import { sleep } from "../timeout/sleep.js";

export interface RetryLayerOptions {
  budgets: RetryBudgets;
  /** Concurrent-retry limit (circuit breaker maxRetries): a release function, or undefined when full. */
  acquireRetry?: (ctx: RequestContext) => (() => void) | undefined;
  /** Largest request body buffered for replay (default 1 MiB). */
  maxBufferBytes?: number;
  random?: () => number;
}

const SKIPPED_BY_BODY: Record<string, string> = { reading: "body-incomplete", "not-recorded": "body-not-recorded" };

/** The attempt failed to connect to `failed`, and the balancer has an endpoint not yet tried. */
function untriedAfterConnectFailure(ctx: RequestContext, failed: Endpoint | undefined, error: unknown): failed is Endpoint {
  return (
    failed !== undefined &&
    failureOf(error) === "connect-failure" &&
    !ctx.failedEndpoints.has(failed.address) &&
    ctx.failedEndpoints.size + 1 < (ctx.endpointCount ?? 0)
  );
}

export function retryLayer(options: RetryLayerOptions): Middleware {
  const cap = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  const random = options.random ?? Math.random;
  return (next) => async (req, ctx) => {
    const policy = toRetryPolicy(ctx.rule?.retry);
    const budget = options.budgets.for(destinationService(ctx), ctx.destination?.retryBudget);
    budget.deposit();
    // A route without retries records no streamed body: only connect failures replay, and only a body in memory.
    const body: ReplayableBody = policy.maxRetries === 0 ? unrecorded(req.body) : replayable(req.body, cap);
    let request: MeshRequest = body.first === req.body ? req : { ...req, body: body.first };
    let retried = 0;
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
          releaseRetry?.();
          releaseRetry = undefined;
        }
        const finish = () => {
          if (res) return res;
          throw error;
        };
        if (req.signal.aborted) return finish();
        // Set by the balancer during the attempt (TypeScript still sees the reset above).
        const failed = ctx.endpoint as Endpoint | undefined;
        if (!res && untriedAfterConnectFailure(ctx, failed, error) && (await body.ready(DEFAULT_BACKOFF_BASE_MS))) {
          ctx.failedEndpoints.add(failed.address);
          ctx.annotations.retries = attempt + 1;
          request = { ...req, body: body.replay() };
          continue;
        }
        const outcome: AttemptOutcome = res
          ? { kind: "response", status: res.status, grpcStatus: grpcStatusOf(res.headers) }
          : { kind: "error", failure: failureOf(error) };
        const decision = decide(policy, retried, outcome, random);
        if (!decision.retry) return finish();
        // The body must have ended within the cap to be replayed; give it the backoff time to.
        const waitStart = Date.now();
        if (!(await body.ready(decision.delayMs))) {
          ctx.annotations.retrySkipped = SKIPPED_BY_BODY[body.state()] ?? "body-too-large";
          return finish();
        }
        const release = options.acquireRetry ? options.acquireRetry(ctx) : () => {};
        if (!release) {
          ctx.annotations.retrySkipped = "max-retries";
          return finish();
        }
        if (!budget.tryWithdraw()) {
          release();
          ctx.annotations.retrySkipped = "budget";
          return finish();
        }
        releaseRetry = release;
        if (failed) ctx.failedEndpoints.add(failed.address);
        if (res) discardResponse(res);
        retried++;
        ctx.annotations.retries = attempt + 1;
        request = { ...req, body: body.replay() };
        await sleep(Math.max(0, decision.delayMs - (Date.now() - waitStart)), req.signal);
      }
    } finally {
      releaseRetry?.();
    }
  };
}
