// How a failed exchange is answered downstream: MeshError keeps its status and code; anything
// else is a 502 with a generic code (the detail goes to the log, not to the client).
import { MeshError, type HeaderMap } from "../core/handler.js";

export interface ErrorReply {
  status: number;
  headers: HeaderMap;
  body: Buffer;
}

export function errorReply(err: unknown): ErrorReply {
  const e =
    err instanceof MeshError
      ? err
      : new MeshError(502, "TSMESH_ERR_UPSTREAM", "upstream request failed", {}, undefined);
  const body = Buffer.from(JSON.stringify({ error: e.message, code: e.code }) + "\n");
  return {
    status: e.status,
    headers: { ...e.headers, "content-type": "application/json", "content-length": String(body.length), "x-tsmesh-error": e.code },
    body,
  };
}
