// Runs `done` once when a response is finished with: its body ended, errored or was destroyed,
// or at once for a bodiless response. Used to hold a slot (active request, breaker) for the
// whole exchange rather than until headers.
import { bodyStream, type MeshResponse } from "../../core/handler.js";
import { onBodyEnd } from "../../telemetry/response-end.js";

export function onResponseDone(res: MeshResponse, done: () => void): void {
  // Shares the body's end listeners with the observability layers (one set per response).
  onBodyEnd(res, () => done());
}

/** Holds a slot for the whole exchange: `release` runs when `pending` fails or its response is done. */
export async function releaseWhenDone(pending: Promise<MeshResponse>, release: () => void): Promise<MeshResponse> {
  let res: MeshResponse;
  try {
    res = await pending;
  } catch (err) {
    release();
    throw err;
  }
  onResponseDone(res, release);
  return res;
}

const DISCARD_MAX_BYTES = 64 * 1024;
const DISCARD_MAX_MS = 1000;

/**
 * Throws away a response nobody will read (a failed attempt that is retried, a late answer after a
 * timeout): drains a small body so the connection can be reused, destroys a large or slow one.
 */
export function discardResponse(res: MeshResponse): void {
  res.upgraded?.socket.destroy(); // a tunnel nobody will use
  const body = bodyStream(res);
  if (!body || body.destroyed) return;
  body.on("error", () => {});
  if (body.readableEnded) return;
  let bytes = 0;
  const timer = setTimeout(() => body.destroy(), DISCARD_MAX_MS);
  timer.unref();
  body.once("close", () => clearTimeout(timer));
  body.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > DISCARD_MAX_BYTES) body.destroy();
  });
  body.resume();
}
