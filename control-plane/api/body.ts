// Request bodies: JSON only, at most 1 MiB. Oversized bodies are refused from Content-Length
// before reading, or as soon as the running count passes the limit; we never buffer more.
import type { IncomingMessage } from "node:http";
import { ApiError, badRequest } from "./errors.js";

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () =>
  new ApiError(413, "TSMESH_ERR_BODY_TOO_LARGE", `request body exceeds ${MAX_BODY_BYTES} bytes`, undefined, { connection: "close" });

export function requireJson(req: IncomingMessage): void {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError(415, "TSMESH_ERR_UNSUPPORTED_MEDIA_TYPE", `Content-Type must be application/json, got "${type || "none"}"`);
  }
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  if (Number(req.headers["content-length"] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  requireJson(req);
  const raw = await readBody(req);
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch (err) {
    throw badRequest(`malformed JSON: ${(err as Error).message}`, "", "TSMESH_ERR_MALFORMED_JSON");
  }
}
