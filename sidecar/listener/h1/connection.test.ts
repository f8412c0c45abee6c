import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { MeshResponse } from "../../core/handler.js";
import { Http1Connection } from "./connection.js";
import type { RequestHead } from "./request-head.js";

const servers: net.Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

/** A server whose every request is answered by `answer` (echoing method, target and body). */
async function serve(answer?: (head: RequestHead, body: string) => MeshResponse): Promise<number> {
  const server = net.createServer((socket) => {
    new Http1Connection(socket, {
      maxHeaderSize: 1024,
      keepAliveTimeoutMs: 5000,
      headersTimeoutMs: 5000,
      draining: () => false,
      onRequest(head, body, exchange) {
        let text = "";
        const done = () => exchange.respond(answer ? answer(head, text) : { status: 200, headers: { "x-len": String(text.length) }, body: Buffer.from(`${head.method} ${head.target} ${text}`) });
        if (!body) return done();
        body.on("data", (c: Buffer) => (text += c.toString()));
        body.on("end", done);
      },
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

/** Writes `wire`, returns everything the server sent until it closed or `ms` passed. */
function exchange(port: number, wire: string | string[], ms = 300): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("connect", async () => {
      for (const part of Array.isArray(wire) ? wire : [wire]) {
        s.write(part);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const timer = setTimeout(() => (s.destroy(), resolve(got)), ms);
    s.on("close", () => (clearTimeout(timer), resolve(got)));
    s.on("error", () => {});
  });
}

describe("Http1Connection", () => {
  it("answers pipelined requests in order on one connection", async () => {
    const port = await serve();
    const out = await exchange(port, "GET /1 HTTP/1.1\r\nHost: b\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n");
    expect(out.match(/GET \/\d/g)).toEqual(["GET /1", "GET /2"]);
    expect(out).toContain("content-length: 7");
  });

  it("reads chunked and Content-Length bodies split across reads, and answers 100 Continue", async () => {
    const port = await serve();
    const chunked = await exchange(port, ["POST /c HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", "c\r\n2\r\nde\r\n0\r\n\r\n"]);
    expect(chunked).toContain("POST /c abcde");
    const cont = await exchange(port, ["PUT /l HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", "wxyz"]);
    expect(cont.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")).toBe(true);
    expect(cont).toContain("PUT /l wxyz");
  });

  it("refuses smuggling-shaped and oversized requests with a status and closes", async () => {
    const port = await serve();
    const smuggle = await exchange(port, "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: b\r\n\r\n");
    expect(smuggle).toMatch(/^HTTP\/1\.1 400 /);
    expect(smuggle).not.toContain("/admin");
    const big = await exchange(port, `GET / HTTP/1.1\r\nHost: b\r\nX: ${"a".repeat(2000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const badChunk = await exchange(port, "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    expect(badChunk).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("streams a body of unknown length chunked to HTTP/1.1 and close-delimited to HTTP/1.0; HEAD gets no body", async () => {
    const { Readable } = await import("node:stream");
    const port = await serve(() => ({ status: 200, headers: {}, body: Readable.from([Buffer.from("ab"), Buffer.from("cd")]) }));
    const h11 = await exchange(port, "GET / HTTP/1.1\r\nHost: b\r\n\r\n");
    expect(h11).toContain("transfer-encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n");
    const h10 = await exchange(port, "GET / HTTP/1.0\r\n\r\n");
    expect(h10).toContain("connection: close\r\n\r\nabcd");
    const headReq = await exchange(port, "HEAD / HTTP/1.1\r\nHost: b\r\n\r\n");
    expect(headReq.endsWith("\r\n\r\n")).toBe(true);
    expect(headReq).not.toContain("ab");
  });

  it("a response header value with CR/LF never reaches the wire: 502 instead", async () => {
    const port = await serve(() => ({ status: 200, headers: { "x-evil": "a\r\nset-cookie: pwned" }, body: null }));
    const out = await exchange(port, "GET / HTTP/1.1\r\nHost: b\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 502 /);
    expect(out).not.toContain("pwned");
  });
});
