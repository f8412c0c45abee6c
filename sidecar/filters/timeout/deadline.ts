// Deadlines for an upstream exchange (route timeout, per-try timeout). The deadline covers the
// time until response headers: a response that has begun streaming is not cut off (gRPC streams,
// downloads). On expiry the attempt's signal is aborted with the 504 MeshError as reason, so
// the upstream request is cancelled and inner layers can tell a timeout from a client abort.
import { parseDuration } from "../../../shared/duration.js";
import { Cancellation } from "../../core/cancel.js";
import { MeshError, type MeshRequest, type MeshResponse } from "../../core/handler.js";
import { discardResponse } from "../../upstream/balancer/response-done.js";

export type TimeoutScope = "route" | "per-try";

/** 504 with failure "timeout"; `scope` tells a route deadline from a per-try one. */
export class TimeoutError extends MeshError {
  constructor(
    readonly ms: number,
    readonly scope: TimeoutScope,
  ) {
    super(504, "TSMESH_ERR_TIMEOUT", `upstream ${scope} timeout after ${ms} ms`, {}, "timeout");
  }
}

export function isTimeoutReason(reason: unknown): reason is MeshError {
  return reason instanceof MeshError && reason.failure === "timeout";
}

const parsed = new Map<string, number>();

/** parseDuration memoised: route durations are a handful of strings read on every request. */
export function durationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let ms = parsed.get(text);
  if (ms === undefined) {
    ms = parseDuration(text);
    if (parsed.size < 1000) parsed.set(text, ms);
  }
  return ms;
}

/** Runs `run` with a request whose signal aborts after `ms`; rejects with 504 at the deadline. */
export function withTimeout(
  ms: number | undefined,
  scope: TimeoutScope,
  req: MeshRequest,
  run: (req: MeshRequest) => Promise<MeshResponse>,
): Promise<MeshResponse> {
  if (ms === undefined || ms <= 0) return run(req);
  // Under the request's signal: a client that goes away cancels the attempt too.
  const controller = Cancellation.under(req.signal);
  const signal = controller.signal;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new TimeoutError(ms, scope);
      controller.abort(err);
      reject(err);
    }, ms);
    run({ ...req, signal }).then(
      (res) => {
        clearTimeout(timer);
        if (!controller.signal.aborted) return resolve(res);
        // Too late (deadline passed or client gone): nobody will read this answer.
        discardResponse(res);
        reject(controller.signal.reason);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
