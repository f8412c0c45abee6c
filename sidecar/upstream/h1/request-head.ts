// The request line and header fields of one upstream HTTP/1.1 request, as a single string so
// head and (small) body leave in one write. Framing headers are decided here from the body, never
// copied from the downstream request: the upstream sees exactly one Content-Length or chunked.
import type { HeaderMap, RequestBody } from "../../core/handler.js";
import { fieldLines, unsafeValue } from "../../http1/fields.js";
import { contentLength, isToken } from "../../http1/syntax.js";

/** Names the client sets itself or must not forward (hop-by-hop, framing, Expect answered at the first hop). */
const OWN = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect", "te", "upgrade", "proxy-connection"]);

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const BAD_TARGET = /[\x00-\x20\x7f]/;

export class HeaderValueError extends Error {
  readonly code = "TSMESH_ERR_BAD_HEADER";
}

export interface RequestHead {
  text: string;
  /** The body goes out chunk-encoded (a stream of unknown length). */
  chunked: boolean;
  /** The Content-Length sent for a streamed body. */
  length?: number;
}

export function requestHead(method: string, path: string, authority: string, headers: HeaderMap, body: RequestBody, upgrade?: string): RequestHead {
  // Neither may hold whitespace or other CTLs either: a server reading "GET /a\tb HTTP/1.1" or a
  // Host with a space its own way is a request line the two disagree on.
  if (BAD_TARGET.test(path) || BAD_TARGET.test(authority)) throw new HeaderValueError("invalid request target or authority");
  if (!isToken(method)) throw new HeaderValueError("invalid method");
  let text = `${method} ${path} HTTP/1.1\r\nhost: ${authority}\r\n` + fieldLines(headers, OWN, (message) => new HeaderValueError(message));
  if (upgrade !== undefined) {
    if (!isToken(upgrade.split("/")[0]!) || unsafeValue(upgrade)) throw new HeaderValueError("invalid upgrade protocol");
    text += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  }
  let chunked = false;
  let streamLength: number | undefined;
  if (body.kind === "buffered") text += `content-length: ${body.data.length}\r\n`;
  else if (body.kind === "stream") {
    const length = body.length ?? declaredLength(headers);
    if (length !== undefined) {
      text += `content-length: ${length}\r\n`;
      streamLength = length;
    } else {
      text += "transfer-encoding: chunked\r\n";
      chunked = true;
    }
  }
  return { text: text + "\r\n", chunked, length: streamLength };
}

function declaredLength(headers: HeaderMap): number | undefined {
  const v = headers["content-length"];
  return contentLength(Array.isArray(v) ? v[0] : v);
}
