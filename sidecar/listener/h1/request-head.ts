// HTTP/1.1 request head parsing (RFC 9112 §3-6) for the sidecar's own listener. A proxy must
// frame a request exactly as the next hop will, or one client can smuggle a request past the
// mesh (request smuggling); so anything ambiguous is refused with 400 rather than guessed at:
// Transfer-Encoding with Content-Length, a coding other than a single final "chunked", differing
// or malformed Content-Length values, obs-fold, whitespace before a colon, control characters.
import { METHODS } from "node:http";
import type { HeaderMap } from "../../core/handler.js";
import type { Framing } from "../../http1/body-decoder.js";
import { contentLength, isToken, trimOws } from "../../http1/syntax.js";

/** A request body is never delimited by the connection closing (RFC 9112 §6.3). */
export type RequestFraming = Exclude<Framing, { kind: "close" }>;

export interface RequestHead {
  method: string;
  /** As sent: origin-form path or absolute-form URI (HTTP_PROXY clients). */
  target: string;
  http10: boolean;
  /** Lower-case names; repeated names become arrays; latin1 strings (one char per byte). */
  headers: HeaderMap;
  framing: RequestFraming;
  /** The client allows the connection to carry another request. */
  keepAlive: boolean;
  /** `Expect: 100-continue`: the client waits for a 100 before sending the body. */
  expectContinue: boolean;
  /** The protocol of `Upgrade` when `Connection: upgrade` asks for it (WebSocket). */
  upgrade?: string;
}

/** A request the listener answers with `status` (400, 501) and then closes the connection. */
export class RequestError extends Error {
  readonly code = "TSMESH_ERR_BAD_REQUEST";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Methods the sidecar forwards: the ones llhttp (Node's and so most apps' parser) knows. An
 * unknown token would be refused by the app anyway, and passing it on only widens what the two
 * parsers might disagree on.
 */
const KNOWN_METHODS = new Set(METHODS);

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- a target is visible ASCII (and obs-text) only
const BAD_TARGET = /[\x00-\x20\x7f]/;

/** Parses `head` (latin1 text up to, not including, the blank line). */
export function parseRequestHead(head: string): RequestHead {
  const eol = head.indexOf("\r\n");
  const line = eol < 0 ? head : head.slice(0, eol);
  const sp1 = line.indexOf(" ");
  const sp2 = line.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 === sp1) throw new RequestError(400, "malformed request line");
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) throw new RequestError(400, "invalid method");
  if (!KNOWN_METHODS.has(method)) throw new RequestError(501, `method ${method} not implemented`);
  if (target === "" || BAD_TARGET.test(target)) throw new RequestError(400, "invalid request target");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new RequestError(version.startsWith("HTTP/") ? 505 : 400, "unsupported HTTP version");
  const http10 = version === "HTTP/1.0";
  const headers: HeaderMap = {};
  let length: number | undefined;
  let te: string | undefined;
  let connection = "";
  let expectContinue = false;
  let at = eol < 0 ? head.length : eol + 2;
  while (at < head.length) {
    let end = head.indexOf("\r\n", at);
    if (end < 0) end = head.length;
    const field = head.slice(at, end);
    at = end + 2;
    const colon = field.indexOf(":");
    if (colon <= 0) throw new RequestError(400, "malformed header line");
    const rawName = field.slice(0, colon);
    if (!isToken(rawName)) throw new RequestError(400, "invalid header name");
    const name = rawName.toLowerCase();
    const value = trimOws(field.slice(colon + 1));
    if (BAD_VALUE.test(value)) throw new RequestError(400, `invalid value for header ${name}`);
    switch (name) {
      case "content-length": {
        const n = contentLength(value);
        if (n === undefined) throw new RequestError(400, "invalid content-length");
        if (length !== undefined && length !== n) throw new RequestError(400, "conflicting content-length");
        length = n;
        break;
      }
      case "transfer-encoding":
        te = te === undefined ? value : `${te},${value}`;
        break;
      case "connection":
        connection += `,${value.toLowerCase()}`;
        break;
      case "expect":
        if (value.toLowerCase() === "100-continue") expectContinue = true;
        break;
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  let framing: RequestFraming = { kind: "none" };
  if (te !== undefined) {
    if (length !== undefined) throw new RequestError(400, "both transfer-encoding and content-length");
    if (te.trim().toLowerCase() !== "chunked" || http10) throw new RequestError(501, "unsupported transfer-encoding");
    framing = { kind: "chunked" };
  } else if (length !== undefined && length > 0) framing = { kind: "length", length };
  const keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection) : !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
  // A protocol upgrade (WebSocket) asked for on a bodiless HTTP/1.1 request.
  const up = headers.upgrade;
  const upgrade = !http10 && framing.kind === "none" && typeof up === "string" && up !== "" && /(?:^|,)\s*upgrade\s*(?:,|$)/.test(connection) ? up : undefined;
  return { method, target, http10, headers, framing, keepAlive, expectContinue, upgrade };
}
