// The status line and header fields of a downstream HTTP/1.1 response. Framing is decided here
// from the body, never copied: Content-Length for an in-memory body, the upstream's length for a
// stream that announced one, chunked otherwise (close-delimited for HTTP/1.0 clients).
import { STATUS_CODES } from "node:http";
import type { HeaderMap } from "../../core/handler.js";
import { fieldLines } from "../../http1/fields.js";
import { contentLength } from "../../http1/syntax.js";

/** Hop-by-hop and framing fields the writer sets itself (RFC 9110 §7.6.1). */
export const OWN_RESPONSE_FIELDS: ReadonlySet<string> = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade", "te", "trailer"]);
const refuse = (message: string) => new Error(`response: ${message}`);

export type BodyFraming = "none" | "length" | "chunked" | "close";

export interface ResponseHeadText {
  text: string;
  framing: BodyFraming;
  /** Body bytes announced by Content-Length when framing is "length". */
  length: number;
}

/**
 * `bodyLength`: bytes of an in-memory body, or undefined for a stream. `bodiless`: HEAD, 204 and
 * 304 carry no body whatever the upstream announced (its Content-Length is kept for HEAD/304).
 */
export function responseHead(status: number, headers: HeaderMap, bodyLength: number | undefined, opts: { stream: boolean; bodiless: boolean; http10: boolean; close: boolean }): ResponseHeadText {
  // A 1xx written as the answer would leave the client waiting for the real one, out of step.
  if (!Number.isInteger(status) || status < 200 || status > 999) throw new Error(`invalid final status ${status}`);
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n` + fieldLines(headers, OWN_RESPONSE_FIELDS, refuse);
  const declared = headers["content-length"];
  const length = typeof declared === "string" ? contentLength(declared) : undefined;
  let framing: BodyFraming;
  let announced = 0;
  let close = opts.close;
  if (opts.bodiless) {
    framing = "none";
    if (length !== undefined && status !== 204) text += `content-length: ${length}\r\n`;
  } else if (!opts.stream) {
    framing = "length";
    announced = bodyLength ?? 0;
    text += `content-length: ${announced}\r\n`;
  } else if (length !== undefined) {
    framing = "length";
    announced = length;
    text += `content-length: ${length}\r\n`;
  } else if (!opts.http10) {
    framing = "chunked";
    text += "transfer-encoding: chunked\r\n";
  } else {
    framing = "close";
    close = true;
  }
  if (close) text += "connection: close\r\n";
  else if (opts.http10) text += "connection: keep-alive\r\n";
  return { text: text + "\r\n", framing: close && framing === "close" ? "close" : framing, length: announced };
}
