// Edge cases of the sidecar's HTTP/1.1 client against raw-socket servers on 127.0.0.1: early
// answers, responses split at every byte, 1xx, connection reuse rules, Keep-Alive timeout, stale
// and unsolicited bytes, aborts while queued, close() with a queue, request body length mismatch.
import net from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Cancellation } from "../../core/cancel.js";
import type { HeaderMap, MeshRequest, RequestBody } from "../../core/handler.js";
import { sendH1 } from "../send-h1.js";
import { connectTcp } from "../tcp-connect.js";
import type { ExchangeHandler } from "./exchange.js";
import { H1Pool } from "./pool.js";
import type { ResponseHead } from "./response-head.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** A raw server: `onRequest(socket, requestHeadText, index on this connection)` per request head seen. */
async function rawServer(onRequest: (s: net.Socket, head: string, n: number) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on("error", () => {});
    let buf = "";
    let n = 0;
    s.on("data", (d) => {
      buf += d.toString("latin1");
      let end;
      while ((end = buf.indexOf("\r\n\r\n")) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        onRequest(s, head, n++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

function poolTo(port: number, opts: { maxConnections?: number; keepAliveTimeoutMs?: number; readTimeoutMs?: number } = {}): H1Pool {
  const pool = new H1Pool({ connect: (done) => connectTcp("127.0.0.1", port, done), ...opts });
  closers.push(() => void pool.destroy());
  return pool;
}

/** One exchange, body streamed (no onWhole) unless `whole`. */
function send(pool: H1Pool, opts: { method?: string; path?: string; headers?: HeaderMap; body?: RequestBody; whole?: boolean } = {}): Promise<{ head: ResponseHead; body: string }> {
  return new Promise((resolve, reject) => {
    let head: ResponseHead | undefined;
    let body = "";
    const handler: ExchangeHandler = {
      onHeaders: (h) => ((head = h), true),
      onData: (c) => ((body += c.toString("latin1")), true),
      onComplete: () => resolve({ head: head!, body }),
      onError: reject,
    };
    if (opts.whole) handler.onWhole = (h, b) => resolve({ head: h, body: b?.toString() ?? "" });
    pool.dispatch({ method: opts.method ?? "GET", path: opts.path ?? "/", authority: "app", headers: opts.headers ?? {}, body: opts.body ?? { kind: "empty" } }, handler);
  });
}

function meshRequest(signal: Cancellation, path = "/"): MeshRequest {
  return { method: "GET", authority: "app", path, headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal };
}

async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

describe("H1 client edge cases", () => {
  it("a server answering before the whole request body was sent: answer taken, connection not reused", async () => {
    const srv = await rawServer((s, head) => {
      if (head.startsWith("POST")) s.write("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 3\r\n\r\nbig");
      else s.write(OK);
    });
    const pool = poolTo(srv.port);
    const stream = new Readable({ read() {} });
    stream.push("part of it"); // never ended: the rest would come later
    const r = await send(pool, { method: "POST", body: { kind: "stream", stream, length: 1000 } });
    expect(r.head.status).toBe(413);
    expect(r.body).toBe("big");
    await until(() => pool.size === 0);
    expect((await send(pool)).body).toBe("ok");
    expect(srv.connections()).toBe(2);
  });

  it("reads a response (head, 1xx, chunked body with extensions and trailers) split at every byte", async () => {
    const wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-h: v\r\n\r\n5;a=b\r\nhello\r\n1\r\n!\r\n0\r\nx-t: 1\r\n\r\n";
    const srv = await rawServer((s, head) => {
      const at = Number(/^GET \/(\d+)/.exec(head)![1]);
      s.write(wire.slice(0, at));
      setTimeout(() => s.write(wire.slice(at)), 10);
    });
    const pool = poolTo(srv.port);
    const all = await Promise.all(Array.from({ length: wire.length - 1 }, (_, i) => send(pool, { path: `/${i + 1}` })));
    for (const r of all) {
      expect(r.head.status).toBe(200);
      expect(r.head.headers["x-h"]).toBe("v");
      expect(r.body).toBe("hello!");
    }
  });

  it("refuses 101 Switching Protocols", async () => {
    const srv = await rawServer((s) => s.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"));
    await expect(send(poolTo(srv.port))).rejects.toThrow(/switched protocols/);
  });

  it("Connection: close and HTTP/1.0 answers are not reused; HTTP/1.0 with keep-alive is", async () => {
    const answers = ["HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na", "HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nb", "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\nc", "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\nd"];
    let i = 0;
    const srv = await rawServer((s) => s.write(answers[i++]!));
    const pool = poolTo(srv.port);
    for (const want of ["a", "b", "c", "d"]) expect((await send(pool, { whole: true })).body).toBe(want);
    expect(srv.connections()).toBe(3);
  });

  it("honours Keep-Alive: timeout=N, closing the idle connection a second before the server would", async () => {
    let i = 0;
    const srv = await rawServer((s) => s.write(`HTTP/1.1 200 OK\r\nkeep-alive: timeout=${++i === 1 ? 1 : 2}\r\ncontent-length: 2\r\n\r\nok`));
    const pool = poolTo(srv.port, { keepAliveTimeoutMs: 60_000 });
    await send(pool, { whole: true });
    expect(pool.size).toBe(0); // timeout=1: no safe idle time at all
    const t0 = Date.now();
    await send(pool, { whole: true });
    expect(pool.size).toBe(1);
    await until(() => pool.size === 0, 1500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it("the keep-alive timer does not cut a reused connection whose exchange outlasts it, and runs again once it is parked", async () => {
    const srv = await rawServer((s, head) => {
      const delay = head.startsWith("GET /slow") ? 250 : 0;
      setTimeout(() => s.write(OK), delay);
    });
    const pool = poolTo(srv.port, { keepAliveTimeoutMs: 100 });
    expect((await send(pool)).body).toBe("ok");
    expect((await send(pool, { path: "/slow" })).body).toBe("ok"); // busy past the first park's 100 ms
    expect(srv.connections()).toBe(1);
    expect(pool.size).toBe(1);
    const parked = Date.now();
    await until(() => pool.size === 0, 1000);
    expect(Date.now() - parked).toBeGreaterThanOrEqual(80);
  });

  it("a server closing an idle pooled connection is noticed: the next request goes on a fresh one", async () => {
    const srv = await rawServer((s) => {
      s.write(OK);
      setTimeout(() => s.end(), 5);
    });
    const pool = poolTo(srv.port);
    await send(pool);
    await until(() => pool.size === 0);
    expect((await send(pool, { method: "POST", body: { kind: "buffered", data: Buffer.from("x") } })).body).toBe("ok");
  });

  it("bytes after the end of a response, or on an idle connection, close it", async () => {
    const srv = await rawServer((s, head) => {
      if (head.startsWith("GET /extra")) s.write(OK + "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nforged");
      else {
        s.write(OK);
        if (head.startsWith("GET /later")) setTimeout(() => s.write("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged"), 20);
      }
    });
    const pool = poolTo(srv.port);
    for (const whole of [true, false]) await expect(send(pool, { path: "/extra", whole })).rejects.toThrow(/after the end/);
    expect((await send(pool, { path: "/later" })).body).toBe("ok");
    expect(pool.size).toBe(1);
    await until(() => pool.size === 0);
    expect((await send(pool)).body).toBe("ok");
  });

  it("a request aborted while queued is dropped from the queue and spoils no connection", async () => {
    const srv = await rawServer((s, head) => setTimeout(() => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n${head.slice(4, 6)}`), head.startsWith("GET /1") ? 50 : 0));
    const pool = poolTo(srv.port, { maxConnections: 1 });
    const first = sendH1(pool, meshRequest(new Cancellation(), "/1"), "app");
    const cancel = new Cancellation();
    const queued = sendH1(pool, meshRequest(cancel, "/2"), "app");
    const third = sendH1(pool, meshRequest(new Cancellation(), "/3"), "app");
    const t0 = Date.now();
    cancel.abort(new Error("client went away"));
    await expect(queued).rejects.toBeDefined();
    expect(Date.now() - t0).toBeLessThan(40); // not left waiting for a connection
    expect(((await first).body as Buffer).toString()).toBe("/1");
    expect(((await third).body as Buffer).toString()).toBe("/3");
    expect(srv.connections()).toBe(1);
  });

  it("close() with requests queued serves them all, then closes", async () => {
    const srv = await rawServer((s, head) => setTimeout(() => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n${head.slice(4, 6)}`), 10));
    const pool = poolTo(srv.port, { maxConnections: 1 });
    const sent = ["/1", "/2", "/3"].map((path) => send(pool, { path, whole: true }));
    const closed = pool.close();
    expect((await Promise.all(sent)).map((r) => r.body)).toEqual(["/1", "/2", "/3"]);
    await closed;
    expect(pool.size).toBe(0);
  });

  it("a streamed request body longer or shorter than its Content-Length fails and never reaches the server as extra bytes", async () => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      s.on("error", () => {});
      s.on("data", (d) => seen.push(d.toString("latin1")));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.close());
    const pool = poolTo((server.address() as net.AddressInfo).port);
    const longer = Readable.from([Buffer.from("abcd"), Buffer.from("GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")]);
    await expect(send(pool, { method: "POST", body: { kind: "stream", stream: longer, length: 4 } })).rejects.toMatchObject({ code: "TSMESH_ERR_BODY_LENGTH" });
    const shorter = Readable.from([Buffer.from("ab")]);
    await expect(send(pool, { method: "POST", body: { kind: "stream", stream: shorter, length: 4 } })).rejects.toMatchObject({ code: "TSMESH_ERR_BODY_LENGTH" });
    expect(seen.join("")).not.toContain("smuggled");
  });

  it("refuses a request target, authority or method with whitespace or control characters, and header names that are not tokens", async () => {
    const heads: string[] = [];
    const srv = await rawServer((s, head) => (heads.push(head), s.write(OK)));
    const pool = poolTo(srv.port);
    for (const req of [{ path: "/a\tb" }, { path: "/a\x0bb" }, { method: "GET /x" }, { headers: { "x\r\nx-injected": "1" } }, { headers: { "a b": "1" } }])
      await expect(send(pool, req)).rejects.toMatchObject({ code: "TSMESH_ERR_BAD_HEADER" });
    expect((await send(pool)).body).toBe("ok");
    expect(heads).toHaveLength(1);
  });
});

describe("H1 client behind the HTTP/1.1 listener", () => {
  it("an upstream answer with both Transfer-Encoding and Content-Length reaches the client whole, never framed by the Content-Length", async () => {
    const { MeshListener } = await import("../../listener/server.js");
    const { createLogger } = await import("../../../shared/log.js");
    const srv = await rawServer((s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n14\r\n01234HTTP/1.1 200 OK\r\n0\r\n\r\n"));
    const pool = poolTo(srv.port);
    const listener = new MeshListener({ name: "t", host: "127.0.0.1", port: 0, handler: (req) => sendH1(pool, req, "app"), log: createLogger("t", { level: "error" }) });
    const port = await listener.listen();
    closers.push(() => listener.close());
    const out = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
      let got = "";
      s.on("data", (d) => {
        got += d.toString("latin1");
        if (got.endsWith("0\r\n\r\n")) {
          s.destroy();
          resolve(got);
        }
      });
      setTimeout(() => (s.destroy(), resolve(got)), 500);
    });
    expect(out).not.toContain("content-length");
    expect(out).toContain("transfer-encoding: chunked\r\n\r\n14\r\n01234HTTP/1.1 200 OK\r\n0\r\n\r\n");
  });
});

describe("H1 client stale keep-alive resend", () => {
  it("resends idempotent requests with a replayable body (PUT buffered, DELETE) but not POST, even buffered", async () => {
    let n = 0;
    // Answers the first request of each connection, then hangs up on the next without a word.
    const server = net.createServer((s) => {
      s.on("error", () => {});
      let served = false;
      s.on("data", () => {
        if (served) return void s.destroy();
        served = true;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${++n % 10}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.close());
    const pool = poolTo((server.address() as net.AddressInfo).port);
    const data = { kind: "buffered" as const, data: Buffer.from("x") };
    await send(pool);
    expect((await send(pool, { method: "PUT", body: data })).body).toBe("2");
    expect((await send(pool, { method: "DELETE" })).body).toBe("3");
    await expect(send(pool, { method: "POST", body: data })).rejects.toMatchObject({ code: "ECONNRESET" });
  });
});

describe("H1 client read timeout", () => {
  it("a server silent after taking the request (before the head, or mid-body) fails the exchange; an idle pooled connection is not cut by it", async () => {
    const srv = await rawServer((s, head) => {
      if (head.startsWith("GET /silent")) return;
      if (head.startsWith("GET /stall")) return void s.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
      s.write(OK);
    });
    const pool = poolTo(srv.port, { readTimeoutMs: 100 });
    const t0 = Date.now();
    await expect(send(pool, { path: "/silent" })).rejects.toMatchObject({ code: "UND_ERR_HEADERS_TIMEOUT" });
    expect(Date.now() - t0).toBeLessThan(400);
    await expect(send(pool, { path: "/stall" })).rejects.toMatchObject({ code: "UND_ERR_BODY_TIMEOUT" });
    expect((await send(pool)).body).toBe("ok");
    await new Promise((r) => setTimeout(r, 200)); // parked longer than the read timeout
    expect(pool.size).toBe(1);
    expect((await send(pool)).body).toBe("ok");
    expect(srv.connections()).toBe(3);
  });
});
