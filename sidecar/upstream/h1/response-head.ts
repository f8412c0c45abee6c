// HTTP/1.1 response head parsing (RFC 9112 §4-6) for the sidecar's upstream client: the status
// line and header fields of one response, and how its body is framed. Strict where a lenient
// parser would let a response desynchronise the connection: conflicting Content-Length,
// Transfer-Encoding other than a final "chunked", obs-fold, bare CR/LF, control characters.
import type { HeaderMap } from "../../core/handler.js";
import type { Framing } from "../../http1/body-decoder.js";
import { contentLength, isToken, ProtocolError, trimOws } from "../../http1/syntax.js";

export interface ResponseHead {
  status: number;
  /** Lower-case names; repeated names become arrays; hop-by-hop fields kept (the caller filters). */
  headers: HeaderMap;
  framing: Framing;
  /** The connection can carry another exchange after this response. */
  keepAlive: boolean;
  /** `Keep-Alive: timeout=N` from the server, in ms. */
  keepAliveTimeoutMs?: number;
}


/** Field values: visible characters, SP, HTAB and obs-text; no CTLs (CR, LF, NUL ...). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;

/**
 * Parses `head` (latin1 text up to, not including, the blank line). `method` decides bodiless
 * responses (HEAD); 1xx, 204 and 304 never have a body.
 */
export function parseResponseHead(head: string, method: string): ResponseHead {
  const lines = head.split("\r\n");
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) throw new ProtocolError("malformed status line");
  const status = Number(m[2]);
  if (status < 100) throw new ProtocolError(`invalid status ${status}`);
  const headers: HeaderMap = {};
  let length: number | undefined;
  let chunked = false;
  let te = false;
  let connection = "";
  let keepAliveTimeoutMs: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ProtocolError(`malformed header line ${i}`);
    const rawName = line.slice(0, colon);
    if (!isToken(rawName)) throw new ProtocolError(`invalid header name ${JSON.stringify(rawName)}`);
    const name = rawName.toLowerCase();
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE.test(value)) throw new ProtocolError(`invalid value for header ${name}`);
    switch (name) {
      case "content-length": {
        const n = contentLength(value);
        if (n === undefined) throw new ProtocolError("invalid content-length");
        if (length !== undefined && length !== n) throw new ProtocolError("conflicting content-length");
        length = n;
        break;
      }
      case "transfer-encoding": {
        te = true;
        // Only "chunked" last is understood (RFC 9112 §6.3); anything else has no safe framing.
        const codings = value.toLowerCase().split(",").map((s) => s.trim());
        chunked = codings[codings.length - 1] === "chunked" && codings.every((c, j) => c === "chunked" ? j === codings.length - 1 : c !== "");
        break;
      }
      case "connection":
        connection += `,${value.toLowerCase()}`;
        break;
      case "keep-alive": {
        const t = /(?:^|[,;\s])timeout=(\d+)/i.exec(value);
        if (t) keepAliveTimeoutMs = Number(t[1]) * 1000;
        break;
      }
    }
    // Values stay latin1 strings, one char per byte, as Node's server parses request headers and
    // writes response headers: whatever bytes the upstream sent go downstream unchanged.
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  const http10 = m[1] === "0";
  let keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection) : !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
  let framing: Framing;
  if ((status >= 100 && status < 200) || status === 204 || status === 304 || method === "HEAD") framing = { kind: "none" };
  else if (te) {
    if (!chunked) throw new ProtocolError("unsupported transfer-encoding");
    // Transfer-Encoding overrides Content-Length; such a message may be an attempt to desync the
    // connection, so it is not reused afterwards (RFC 9112 §6.3 item 3). The Content-Length goes
    // too, as a proxy must: a downstream writer would announce it for the decoded (other) length.
    if (length !== undefined) {
      keepAlive = false;
      delete headers["content-length"];
    }
    framing = { kind: "chunked" };
  } else if (length !== undefined) framing = { kind: "length", length };
  else {
    framing = { kind: "close" };
    keepAlive = false;
  }
  return { status, headers, framing, keepAlive, keepAliveTimeoutMs };
}
