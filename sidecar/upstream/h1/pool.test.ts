import http from "node:http";
import net from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { RequestBody } from "../../core/handler.js";
import { connectTcp } from "../tcp-connect.js";
import type { ExchangeHandler } from "./exchange.js";
import { H1Pool } from "./pool.js";
import type { ResponseHead } from "./response-head.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

function poolTo(port: number, opts: { maxConnections?: number; keepAliveTimeoutMs?: number } = {}): H1Pool {
  const pool = new H1Pool({ connect: (done) => connectTcp("127.0.0.1", port, done), ...opts });
  closers.push(() => void pool.destroy());
  return pool;
}

interface Result {
  status: number;
  head: ResponseHead;
  body: string;
}

/** One exchange; the body collected whether it came whole or streamed. */
function send(pool: H1Pool, opts: { method?: string; path?: string; body?: RequestBody; whole?: boolean } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    let head: ResponseHead | undefined;
    let body = "";
    const handler: ExchangeHandler = {
      onHeaders: (h) => ((head = h), true),
      onData: (c) => ((body += c.toString()), true),
      onComplete: () => resolve({ status: head!.status, head: head!, body }),
      onError: reject,
    };
    if (opts.whole !== false) handler.onWhole = (h, b) => resolve({ status: h.status, head: h, body: b?.toString() ?? "" });
    pool.dispatch({ method: opts.method ?? "GET", path: opts.path ?? "/", authority: "app", headers: { "x-a": "1" }, body: opts.body ?? { kind: "empty" } }, handler);
  });
}

describe("H1Pool", () => {
  it("reuses one keep-alive connection for sequential requests, whole and streamed", async () => {
    const peers = new Set<number>();
    const server = http.createServer((req, res) => {
      peers.add(req.socket.remotePort!);
      res.end(`${req.headers.host} ${req.headers["x-a"]} ${req.url}`);
    });
    const pool = poolTo(await listen(server));
    for (const whole of [true, false, true]) expect((await send(pool, { path: "/p?q=1", whole })).body).toBe("app 1 /p?q=1");
    expect(peers.size).toBe(1);
    expect(pool.size).toBe(1);
  });

  it("queues requests beyond maxConnections and serves them in order", async () => {
    const peers = new Set<number>();
    const server = http.createServer((req, res) => {
      peers.add(req.socket.remotePort!);
      setTimeout(() => res.end(req.url), 20);
    });
    const pool = poolTo(await listen(server), { maxConnections: 1 });
    const all = await Promise.all(["/1", "/2", "/3"].map((path) => send(pool, { path })));
    expect(all.map((r) => r.body)).toEqual(["/1", "/2", "/3"]);
    expect(peers.size).toBe(1);
  });

  it("sends a GET again on a fresh connection when the kept-alive one dies under it, but not a POST", async () => {
    let n = 0;
    // Answers the first request of each connection; on the next one it hangs up without a word:
    // the race of a server closing an idle keep-alive connection just as a request goes out.
    const server = net.createServer((s) => {
      let served = false;
      s.on("data", () => {
        if (served) return void s.destroy();
        served = true;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${++n}`);
      });
    });
    const pool = poolTo(await listen(server));
    expect((await send(pool)).body).toBe("1");
    expect((await send(pool)).body).toBe("2");
    const stream = Readable.from([Buffer.from("once")]);
    await expect(send(pool, { method: "POST", body: { kind: "stream", stream } })).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("streams a request body of unknown length chunk-encoded", async () => {
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => res.end(`${req.headers["transfer-encoding"]}:${body}`));
    });
    const pool = poolTo(await listen(server));
    const stream = Readable.from([Buffer.from("abc"), Buffer.from("def")]);
    expect((await send(pool, { method: "POST", body: { kind: "stream", stream } })).body).toBe("chunked:abcdef");
    expect((await send(pool, { method: "POST", body: { kind: "buffered", data: Buffer.from("xyz") } })).body).toBe("undefined:xyz");
  });

  it("reads a body delimited by the connection's close, and a chunked one", async () => {
    const server = net.createServer((s) =>
      s.once("data", (d) => {
        if (d.toString().startsWith("GET /chunked")) s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        else s.end("HTTP/1.1 200 OK\r\n\r\nuntil close");
      }),
    );
    const pool = poolTo(await listen(server));
    expect((await send(pool)).body).toBe("until close");
    expect((await send(pool, { path: "/chunked" })).body).toBe("abc");
  });

  it("a malformed response fails its exchange and closes the connection; the next request works", async () => {
    let first = true;
    const server = net.createServer((s) =>
      s.on("data", () => {
        if (first) s.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nx");
        else s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        first = false;
      }),
    );
    const pool = poolTo(await listen(server));
    await expect(send(pool)).rejects.toMatchObject({ code: "TSMESH_ERR_UPSTREAM_PROTOCOL" });
    expect((await send(pool)).body).toBe("ok");
  });

  it("refuses a response head over 64 KiB", async () => {
    const server = net.createServer((s) => s.once("data", () => s.write(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70 * 1024)}\r\n\r\n`)));
    const pool = poolTo(await listen(server));
    await expect(send(pool)).rejects.toThrow(/too large/);
  });

  it("reports a refused connection as the socket error", async () => {
    const server = net.createServer();
    const port = await listen(server);
    server.close();
    await expect(send(poolTo(port))).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("close() lets the in-flight exchange finish, then closes the connection", async () => {
    const server = http.createServer((_req, res) => setTimeout(() => res.end("late"), 50));
    const pool = poolTo(await listen(server));
    const pending = send(pool);
    await new Promise((r) => setTimeout(r, 10));
    const closed = pool.close();
    expect((await pending).body).toBe("late");
    await closed;
    expect(pool.size).toBe(0);
    await expect(send(pool)).rejects.toThrow(/closed/);
  });
});
