// Observability layers act when a response is finished with, not at headers: the body ended,
// errored or was destroyed (client gone, retry discarding a reply), or at once when bodiless.
// Only 'end'/'close'/'error' listeners are added, so the stream's flow is not changed.
import type { Readable } from "node:stream";
import { bodyStream, MeshError, type MeshResponse } from "../core/handler.js";

function incomplete(message: string): Error {
  return Object.assign(new Error(message), { code: "TSMESH_ERR_BODY_INCOMPLETE" });
}

type Waiter = (err?: Error) => void;
/**
 * Waiters of one body: every layer shares one set of stream listeners (hot path). The listeners
 * are module functions reading the body from `this` and the waiters from the body, so watching a
 * body costs one array and no closures; `on` + removal on the first outcome rather than `once`,
 * which wraps each listener in a closure and a state object.
 */
const WAITERS = Symbol("tsmesh.bodyEndWaiters");
/** Waiters already called: the body failed without being destroyed (no 'close' to come). */
const SETTLED: readonly Waiter[] = Object.freeze([]);
type WithWaiters = Readable & { [WAITERS]?: Waiter[] | typeof SETTLED };

function settle(body: WithWaiters, err: Error | undefined): void {
  const waiters = body[WAITERS];
  if (waiters === undefined || waiters === SETTLED) return;
  body[WAITERS] = SETTLED;
  body.off("end", onEnd);
  body.off("close", onClose);
  body.off("error", onError);
  // In registration order, as separate listeners would have run.
  for (let i = 0; i < waiters.length; i++) waiters[i]!(err);
}

function onEnd(this: WithWaiters): void {
  settle(this, undefined);
}

/** 'close' without a prior 'end': the body was abandoned before its last byte. */
function onClose(this: WithWaiters): void {
  settle(this, this.readableEnded ? undefined : incomplete("response body closed early"));
}

function onError(this: WithWaiters, err: Error): void {
  settle(this, err);
}

/** `done(err)` runs exactly once; err is set when the body failed or was cut short. */
export function onBodyEnd(res: MeshResponse, done: (err?: Error) => void): void {
  const body = bodyStream(res) as WithWaiters | undefined;
  if (!body) {
    done();
    return;
  }
  if (body.readableEnded) {
    done();
    return;
  }
  if (body.destroyed) {
    done(body.errored ?? incomplete("response body destroyed"));
    return;
  }
  const pending = body[WAITERS];
  if (pending === SETTLED) {
    done(body.errored ?? incomplete("response body failed"));
    return;
  }
  if (pending) {
    (pending as Waiter[]).push(done);
    return;
  }
  body[WAITERS] = [done];
  body.on("end", onEnd);
  body.on("close", onClose);
  body.on("error", onError);
}

/** Status the listener will answer with when a layer throws (sidecar/listener/errors.ts). */
export function statusOfError(err: unknown): number {
  return err instanceof MeshError ? err.status : 502;
}

/** Stable code of a thrown error (TSMESH_ERR_* or a Node errno code). */
export function codeOfError(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === "string") return e.code;
  return typeof e?.name === "string" ? e.name : "Error";
}
