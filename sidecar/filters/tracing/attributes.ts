// OTel HTTP semantic-convention attributes (stable names) plus tsmesh's own.
import type { Attributes, Span } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
} from "@opentelemetry/semantic-conventions";
import type { MeshRequest } from "../../core/handler.js";

export const ATTR_TSMESH_ROUTE = "tsmesh.route";
export const ATTR_TSMESH_RETRY_ATTEMPT = "tsmesh.retry.attempt";
/** Retries made for the whole request (on the per-request span). */
export const ATTR_TSMESH_RETRIES = "tsmesh.retries";
export const ATTR_TSMESH_PEER_IDENTITY = "tsmesh.peer.identity";

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

export function splitAuthority(authority: string): { host: string; port?: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority);
  if (!m) return { host: authority };
  return { host: m[1] ?? authority, port: m[2] !== undefined ? Number(m[2]) : undefined };
}

export function requestAttributes(req: MeshRequest): Attributes {
  const q = req.path.indexOf("?");
  const { host, port } = splitAuthority(req.authority);
  const attrs: Attributes = {
    // Semconv: unknown methods are reported as _OTHER to bound cardinality.
    [ATTR_HTTP_REQUEST_METHOD]: KNOWN_METHODS.has(req.method) ? req.method : "_OTHER",
    [ATTR_URL_PATH]: q === -1 ? req.path : req.path.slice(0, q),
    [ATTR_SERVER_ADDRESS]: host,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.protocol === "h2" ? "2" : "1.1",
  };
  if (port !== undefined) attrs[ATTR_SERVER_PORT] = port;
  return attrs;
}

/** Status code on the span; error status for 5xx (both span kinds: the mesh failed the call). */
export function recordStatus(span: Span, status: number): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

export function recordError(span: Span, err: unknown, errorType: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  if (err instanceof Error) span.recordException(err);
}

/** gRPC codes that mean the server failed (OTel gRPC semconv for server spans). */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** gRPC status from trailers (or a trailers-only response's headers), when the exchange is gRPC. */
export function recordGrpcStatus(span: Span, headers: Record<string, string | string[] | undefined>): void {
  const raw = headers["grpc-status"];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) return;
  const code = Number(v);
  if (!Number.isInteger(code)) return;
  span.setAttribute("rpc.grpc.status_code", code);
  if (GRPC_SERVER_ERRORS.has(code)) {
    span.setAttribute(ATTR_ERROR_TYPE, `grpc:${code}`);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}
