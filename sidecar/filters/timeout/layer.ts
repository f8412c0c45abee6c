// Route timeout (HTTPRoute rule `timeout`): bounds the whole exchange including retries and their
// backoff. Per-try timeouts are applied by the retry layer around each attempt.
import type { Middleware } from "../../core/handler.js";
import { durationMs, TimeoutError, withTimeout } from "./deadline.js";

export function timeoutLayer(): Middleware {
  return (next) => (req, ctx) => {
    const ms = durationMs(ctx.rule?.timeout);
    if (ms === undefined) return next(req, ctx);
    return withTimeout(ms, "route", req, (r) => next(r, ctx)).catch((err: unknown) => {
      if (err instanceof TimeoutError) ctx.annotations.timeout = err.scope;
      throw err;
    });
  };
}
