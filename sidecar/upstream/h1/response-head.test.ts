import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../http1/syntax.js";
import { parseResponseHead } from "./response-head.js";

const head = (...lines: string[]) => lines.join("\r\n");

describe("parseResponseHead", () => {
  it("reads status, lower-case headers (repeated ones as arrays) and Content-Length framing", () => {
    const h = parseResponseHead(head("HTTP/1.1 201 Created", "Content-Length: 2", "Set-Cookie: a=1", "set-cookie: b=2", "X-Name: \xc3\xbc"), "GET");
    expect(h).toMatchObject({ status: 201, framing: { kind: "length", length: 2 }, keepAlive: true });
    // Bytes kept as latin1 chars: written back downstream unchanged.
    expect(h.headers).toEqual({ "content-length": "2", "set-cookie": ["a=1", "b=2"], "x-name": "\xc3\xbc" });
  });

  it("chunked wins over Content-Length, and such a connection is not reused", () => {
    const h = parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"), "GET");
    expect(h.framing).toEqual({ kind: "chunked" });
    expect(h.keepAlive).toBe(false);
  });

  it("no length and not chunked: read until close, never reused", () => {
    expect(parseResponseHead("HTTP/1.1 200 OK", "GET")).toMatchObject({ framing: { kind: "close" }, keepAlive: false });
  });

  it("HEAD, 204 and 304 have no body whatever they announce", () => {
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 10"), "HEAD").framing).toEqual({ kind: "none" });
    expect(parseResponseHead(head("HTTP/1.1 204 No Content", "Content-Length: 10"), "GET").framing).toEqual({ kind: "none" });
    expect(parseResponseHead(head("HTTP/1.1 304 Not Modified"), "GET").framing).toEqual({ kind: "none" });
  });

  it("Connection: close and HTTP/1.0 without keep-alive end the connection; Keep-Alive timeout is read", () => {
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 0", "Connection: close"), "GET").keepAlive).toBe(false);
    expect(parseResponseHead(head("HTTP/1.0 200 OK", "Content-Length: 0"), "GET").keepAlive).toBe(false);
    expect(parseResponseHead(head("HTTP/1.0 200 OK", "Content-Length: 0", "Connection: keep-alive"), "GET").keepAlive).toBe(true);
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 0", "Keep-Alive: timeout=5"), "GET").keepAliveTimeoutMs).toBe(5000);
  });

  it.each([
    ["a malformed status line", head("HTTP/2 200 OK")],
    ["conflicting Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 2")],
    ["a non-numeric Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 1x")],
    ["a transfer coding other than a final chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip")],
    ["chunked applied twice", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, chunked")],
    ["an obs-fold continuation line", head("HTTP/1.1 200 OK", "X-A: 1", " folded")],
    ["whitespace before the colon", head("HTTP/1.1 200 OK", "X-A : 1")],
    ["a control character in a value", head("HTTP/1.1 200 OK", "X-A: a\x00b")],
    ["a line without a colon", head("HTTP/1.1 200 OK", "nonsense")],
  ])("refuses %s", (_what, text) => {
    expect(() => parseResponseHead(text, "GET")).toThrow(ProtocolError);
  });
});
