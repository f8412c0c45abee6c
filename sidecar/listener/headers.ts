// Header hygiene between hops (RFC 9110 7.6.1): connection-specific headers never cross a proxy,
// and HTTP/2 forbids them outright.
import type { HeaderMap } from "../core/handler.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "http2-settings",
]);

/**
 * Copies `src` without hop-by-hop headers, headers the Connection header names, and HTTP/2
 * pseudo-headers. `te: trailers` is kept (gRPC needs it end to end).
 */
export function endToEndHeaders(src: Record<string, string | string[] | undefined>, keepTe = true): HeaderMap {
  const out: HeaderMap = {};
  const conn = src.connection;
  const named = conn ? String(conn).toLowerCase().split(/\s*,\s*/) : undefined;
  for (const name in src) {
    const value = src[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (HOP_BY_HOP.has(name)) {
      if (keepTe && name === "te" && String(value).toLowerCase().includes("trailers")) out.te = "trailers";
      continue;
    }
    if (named && named.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Response headers safe to hand to an HTTP/2 or HTTP/1.1 writer (no `te`). */
export function responseHeaders(src: Record<string, string | string[] | undefined>): HeaderMap {
  // Filtered in the copy rather than deleted after: `delete` turns the object into a slow
  // dictionary that writeHead then iterates.
  return endToEndHeaders(src, false);
}
