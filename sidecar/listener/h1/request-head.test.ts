import { describe, expect, it } from "vitest";
import { parseRequestHead, RequestError } from "./request-head.js";

const head = (...lines: string[]) => lines.join("\r\n");

describe("parseRequestHead", () => {
  it("reads method, target, lower-case headers (repeated as arrays) and Content-Length framing", () => {
    const h = parseRequestHead(head("POST /p?q=1 HTTP/1.1", "Host: b", "Content-Length: 3", "X-A: 1", "x-a: 2"));
    expect(h).toMatchObject({ method: "POST", target: "/p?q=1", http10: false, keepAlive: true, framing: { kind: "length", length: 3 } });
    expect(h.headers).toEqual({ host: "b", "content-length": "3", "x-a": ["1", "2"] });
  });

  it("absolute-form targets, chunked bodies, Expect and Connection are understood", () => {
    const h = parseRequestHead(head("PUT http://svc:80/x HTTP/1.1", "Host: svc", "Transfer-Encoding: chunked", "Expect: 100-continue", "Connection: close"));
    expect(h).toMatchObject({ target: "http://svc:80/x", framing: { kind: "chunked" }, expectContinue: true, keepAlive: false });
    expect(parseRequestHead(head("GET / HTTP/1.0")).keepAlive).toBe(false);
    expect(parseRequestHead(head("GET / HTTP/1.0", "Connection: keep-alive")).keepAlive).toBe(true);
  });

  it.each([
    [400, "both Transfer-Encoding and Content-Length (smuggling)", head("POST / HTTP/1.1", "Host: b", "Content-Length: 3", "Transfer-Encoding: chunked")],
    [501, "a coding other than chunked", head("POST / HTTP/1.1", "Host: b", "Transfer-Encoding: gzip, chunked")],
    [501, "chunked twice", head("POST / HTTP/1.1", "Host: b", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked")],
    [400, "differing Content-Length values", head("POST / HTTP/1.1", "Host: b", "Content-Length: 3", "Content-Length: 4")],
    [400, "a signed Content-Length", head("POST / HTTP/1.1", "Host: b", "Content-Length: +3")],
    [400, "whitespace before the colon", head("GET / HTTP/1.1", "Host : b")],
    [400, "an obs-fold line", head("GET / HTTP/1.1", "Host: b", " folded")],
    [400, "a NUL in a value", head("GET / HTTP/1.1", "Host: b", "X: a\x00")],
    [400, "a malformed request line", head("GET /")],
    [400, "a space in the target", head("GET /a b HTTP/1.1", "Host: b")],
    [505, "HTTP/2 in an HTTP/1 request line", head("GET / HTTP/2.0", "Host: b")],
    [501, "a method llhttp does not know (body bytes read as a method)", head("helloPOST / HTTP/1.1", "Host: b")],
  ])("answers %i to %s", (status, _what, text) => {
    let err: unknown;
    try {
      parseRequestHead(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).status).toBe(status);
  });
});
