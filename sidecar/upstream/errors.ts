// Upstream failures as MeshErrors with the failure kind retry conditions look at.
import type { CancelSignal } from "../core/cancel.js";
import { MeshError } from "../core/handler.js";

const CONNECT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT"]);

export function connectFailure(message: string, code = "TSMESH_ERR_UPSTREAM_CONNECT"): MeshError {
  return new MeshError(502, code, message, {}, "connect-failure");
}

/** Maps a client error to a MeshError; a signal abort rethrows the signal's reason (timeout, client gone). */
export function upstreamError(err: unknown, signal: CancelSignal, target: string): MeshError {
  if (signal.aborted && signal.reason instanceof MeshError) return signal.reason;
  if (err instanceof MeshError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? "";
  if (CONNECT_CODES.has(code)) return connectFailure(`cannot connect to ${target}: ${code}`);
  if (code === "UND_ERR_HEADERS_TIMEOUT") return new MeshError(504, "TSMESH_ERR_TIMEOUT", `upstream ${target} sent no headers in time`, {}, "timeout");
  if (code === "ERR_HTTP2_STREAM_ERROR" && /REFUSED_STREAM/.test(e.message ?? ""))
    return new MeshError(503, "TSMESH_ERR_REFUSED_STREAM", `upstream ${target} refused the stream`, {}, "refused-stream");
  return new MeshError(502, "TSMESH_ERR_UPSTREAM_RESET", `upstream ${target} failed: ${code || e?.message || "reset"}`, {}, "reset");
}
