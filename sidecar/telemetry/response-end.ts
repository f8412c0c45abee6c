// Observability layers act when a response is finished with, not at headers: the body ended,
// errored or was destroyed (client gone, retry discarding a reply), or at once when bodiless.
// Only 'end'/'close'/'error' listeners are added, so the stream's flow is not changed.
import type { Readable } from "node:stream";
import { bodyStream, MeshError, type MeshResponse } from "../core/handler.js";

function incomplete(message: string): Error {
  return Object.assign(new Error(message), { code: "TSMESH_ERR_BODY_INCOMPLETE" });
}

type Waiter = (err?: Error) => void;
/** Waiters of one body: every layer shares one set of stream listeners (hot path). */
const WAITERS = Symbol("tsmesh.bodyEndWaiters");
type WithWaiters = Readable & { [WAITERS]?: Waiter[] };

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
  if (pending) {
    pending.push(done);
    return;
  }
  const waiters: Waiter[] = [done];
  body[WAITERS] = waiters;
  let called = false;
  const finish = (err?: Error) => {
    if (called) return;
    called = true;
    body.off("end", onEnd);
    body.off("close", onClose);
    body.off("error", finish);
    // In registration order, as separate listeners would have run.
    for (let i = 0; i < waiters.length; i++) waiters[i]!(err);
  };
  const onEnd = () => finish();
  // 'close' without a prior 'end': the body was abandoned before its last byte.
  const onClose = () => finish(body.readableEnded ? undefined : incomplete("response body closed early"));
  body.once("end", onEnd);
  body.once("close", onClose);
  body.once("error", finish);
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
