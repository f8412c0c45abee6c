// Edge cases of the HTTP/1.1 listener over real sockets, through MeshListener (so the in-flight
// count a drain waits on is checked too): cut-short bodies, pipelining with bodies, early answers,
// split heads, header-size limits, chunk extensions/trailers, bodiless statuses, half-close.
import net from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../shared/log.js";
import type { Handler, MeshRequest, MeshResponse } from "../../core/handler.js";
import { MeshListener } from "../server.js";
import { Http1Connection, type Http1ConnectionOptions } from "./connection.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function listen(handler: Handler, maxHeaderSize?: number): Promise<{ port: number; listener: MeshListener }> {
  const listener = new MeshListener({ name: "t", host: "127.0.0.1", port: 0, handler, log: createLogger("t", { level: "error" }), maxHeaderSize });
  const port = await listener.listen();
  closers.push(() => listener.close());
  return { port, listener };
}

function readAll(req: MeshRequest): Promise<string> {
  if (req.body.kind !== "stream") return Promise.resolve(req.body.kind === "buffered" ? req.body.data.toString() : "");
  const stream = req.body.stream;
  return new Promise((resolve, reject) => {
    let s = "";
    stream.on("data", (c: Buffer) => (s += c.toString("latin1")));
    stream.on("end", () => resolve(s));
    stream.on("error", reject);
  });
}

/**
 * A bare Http1Connection server (no mesh stack): `onRequest` answers. Resolves each server-side
 * socket's close in `closed`.
 */
async function bare(onRequest: Http1ConnectionOptions["onRequest"], keepAliveTimeoutMs = 300): Promise<{ port: number; closed: Promise<void>[] }> {
  const closed: Promise<void>[] = [];
  const server = net.createServer((socket) => {
    closed.push(new Promise((r) => socket.once("close", () => r())));
    new Http1Connection(socket, { maxHeaderSize: 1024, keepAliveTimeoutMs, headersTimeoutMs: 1000, draining: () => false, onRequest });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, closed };
}

/** Echoes method, path and body. */
const echo: Handler = async (req) => ({ status: 200, headers: {}, body: Buffer.from(`${req.method} ${req.path} [${await readAll(req)}]`) });

/** Opens a connection, writes `parts` (with `gapMs` between), resolves with all bytes once the server closes or `ms` passes. */
function talk(port: number, parts: (string | Buffer)[], opts: { ms?: number; gapMs?: number; halfClose?: boolean; doneWhen?: (out: string) => boolean } = {}): Promise<{ out: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.setNoDelay(true);
    let out = "";
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (opts.doneWhen?.(out)) {
        clearTimeout(timer);
        resolve({ out, closedByServer: false });
        s.destroy();
      }
    });
    s.on("error", () => {});
    s.on("connect", async () => {
      for (const p of parts) {
        if (s.destroyed) return;
        s.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.halfClose) s.end();
    });
    const timer = setTimeout(() => (s.destroy(), resolve({ out, closedByServer: false })), opts.ms ?? 400);
    s.on("close", () => (clearTimeout(timer), resolve({ out, closedByServer: true })));
  });
}

async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const statuses = (out: string) => [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe("HTTP/1.1 listener edge cases", () => {
  it("a body cut short by the client's close errors the handler's stream and releases the in-flight count", async () => {
    let seen: unknown;
    const { port, listener } = await listen(async (req) => {
      try {
        await readAll(req);
      } catch (err) {
        seen = err;
      }
      return { status: 200, headers: {}, body: null };
    });
    // Both a full close and a half-close (FIN only) after 4 of 10 bytes.
    for (const halfClose of [false, true]) {
      seen = undefined;
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      await new Promise((r) => s.once("connect", r));
      s.write("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabcd");
      await until(() => listener.inflight.size === 1);
      if (halfClose) s.end();
      else s.destroy();
      await until(() => seen !== undefined && listener.inflight.size === 0);
      expect((seen as { code?: string }).code).toBe("ECONNRESET");
    }
  });

  it("pipelined requests with Content-Length and chunked bodies are each read exactly, in order", async () => {
    const { port } = await listen(echo);
    const wire =
      "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
      "POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1;q=\"x\"\r\nabc\r\n0\r\nX-Trailer: t\r\nY: u\r\n\r\n" +
      "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    // All in one write, and in two reads split at every byte (heads, CRLFCRLF, size lines, data, trailers).
    const doneWhen = (out: string) => out.includes("GET /3 [");
    const runs = [talk(port, [wire], { doneWhen })];
    for (let i = 1; i < wire.length; i++) runs.push(talk(port, [wire.slice(0, i), wire.slice(i)], { gapMs: 15, doneWhen, ms: 900 }));
    for (const { out } of await Promise.all(runs)) {
      expect(out.match(/(GET|POST) \/\d \[[^\]]*\]/g)).toEqual(["POST /1 [hello]", "POST /2 [abc]", "GET /3 []"]);
      expect(out).not.toContain("X-Trailer");
    }
  });

  it("an answer given before the request body was read says connection: close and the connection is not reused", async () => {
    const { port } = await listen(async () => ({ status: 413, headers: {}, body: Buffer.from("too big") }));
    // 100-continue: the listener sends 100 at once; the answer comes before the body. The bytes
    // that follow (body, then something shaped like a request) must never be read as a request.
    const { out, closedByServer } = await talk(port, ["PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nExpect: 100-continue\r\n\r\n", "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"], { gapMs: 50 });
    expect(statuses(out)).toEqual([100, 413]);
    expect(out).toContain("connection: close\r\n");
    expect(closedByServer).toBe(true);
  });

  it("a request head split in tiny reads is read; at maxHeaderSize it is served, one byte over it gets 431", async () => {
    const { port } = await listen(echo, 256);
    const head = (size: number) => {
      const base = "GET /h HTTP/1.1\r\nHost: a\r\nX: ";
      return base + "v".repeat(size - base.length);
    };
    expect(head(256).length).toBe(256);
    // The head (without its final CRLFCRLF) counts; the terminator may arrive in a later read.
    const doneWhen = (out: string) => out.includes("]");
    const atLimit = await talk(port, [head(256) + "\r\n\r", "\n"], { gapMs: 20, doneWhen });
    expect(statuses(atLimit.out)).toEqual([200]);
    const split = await talk(port, [head(256).slice(0, 100), head(256).slice(100) + "\r", "\n\r", "\n"], { gapMs: 10, doneWhen });
    expect(statuses(split.out)).toEqual([200]);
    const over = await talk(port, [head(257) + "\r\n\r\n"]);
    expect(statuses(over.out)).toEqual([431]);
    expect(over.closedByServer).toBe(true);
  });

  it("refuses a chunk size that overflows and whitespace other than SP/HTAB around header values", async () => {
    const { port } = await listen(echo);
    const huge = await talk(port, ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nx\r\n0\r\n\r\n"]);
    expect(statuses(huge.out)).toEqual([400]);
    // llhttp refuses these; String.prototype.trim would have accepted them as "chunked" / "a".
    for (const v of ["\x0bchunked", "chunked\x0c"]) {
      const r = await talk(port, [`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`]);
      expect(statuses(r.out)).toEqual([400]);
    }
    const host = await talk(port, ["GET / HTTP/1.1\r\nHost: \x0ba\r\n\r\n"]);
    expect(statuses(host.out)).toEqual([400]);
  });

  it("HEAD keeps the upstream's Content-Length without a body; 204 has neither; 304 keeps it; the connection stays usable", async () => {
    const { port } = await listen(async (req) => {
      const status = Number(req.path.slice(1)) || 200;
      return { status, headers: { "content-length": "5" }, body: Readable.from([Buffer.from("hello")]) };
    });
    const { out } = await talk(port, ["HEAD /200 HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /200 HTTP/1.1\r\nHost: a\r\n\r\n"], { doneWhen: (o) => o.endsWith("hello") });
    const parts = out.split(/(?=HTTP\/1\.1 )/);
    expect(parts.map((p) => statuses(p)[0])).toEqual([200, 204, 304, 200]);
    expect(parts[0]).toMatch(/content-length: 5\r\n\r\n$/);
    expect(parts[1]).not.toContain("content-length");
    expect(parts[1]!.endsWith("\r\n\r\n")).toBe(true);
    expect(parts[2]).toMatch(/content-length: 5\r\n\r\n$/);
    expect(parts[3]).toMatch(/content-length: 5\r\n\r\nhello$/);
  });

  it("a streamed answer that is shorter or longer than the Content-Length it announced closes the connection instead of desyncing it", async () => {
    const { port } = await listen(async (req) => ({ status: 200, headers: { "content-length": "5" }, body: Readable.from([Buffer.from(req.path === "/short" ? "abc" : "abcdefgh")]) }));
    for (const path of ["/short", "/long"]) {
      const { out, closedByServer } = await talk(port, [`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`]);
      expect(closedByServer).toBe(true);
      expect(statuses(out)).toEqual([200]);
      expect(out).not.toContain("fgh");
    }
  });

  it("a handler that throws gets a 502 answer and the connection goes on", async () => {
    const { port, listener } = await listen(async (req) => {
      if (req.path === "/throw") throw new Error("boom");
      return { status: 200, headers: {}, body: Buffer.from("ok") };
    });
    const { out } = await talk(port, ["GET /throw HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n"], { doneWhen: (o) => o.endsWith("ok") });
    expect(statuses(out)).toEqual([502, 200]);
    expect(listener.inflight.size).toBe(0);
  });

  it("a client half-closing after its requests still gets every answer, then the connection closes", async () => {
    let gone = false;
    const { port, listener } = await listen(
      (req) =>
        new Promise<MeshResponse>((resolve) => {
          setTimeout(() => resolve({ status: 200, headers: {}, body: Buffer.from("late") }), 100);
          req.signal.addEventListener("abort", () => (gone = true));
        }),
    );
    const { out, closedByServer } = await talk(port, ["GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"], { halfClose: true });
    expect(closedByServer).toBe(true);
    expect(statuses(out)).toEqual([200, 200]);
    expect(out.endsWith("late")).toBe(true);
    expect(gone).toBe(false);
    await until(() => listener.inflight.size === 0);
  });

  it("many connections opened and closed at every stage leave no in-flight exchange behind", async () => {
    const { port, listener } = await listen(async (req) => {
      await readAll(req).catch(() => {});
      await new Promise((r) => setTimeout(r, 2));
      return { status: 200, headers: {}, body: Readable.from([Buffer.from("x")]) };
    });
    const stages = ["GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"];
    const conns: Promise<void>[] = [];
    for (let i = 0; i < 120; i++)
      conns.push(
        new Promise((resolve) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.write(stages[i % stages.length]!);
            setTimeout(() => s.destroy(), i % 3);
          });
          s.on("error", () => {});
          s.on("close", () => resolve());
        }),
      );
    await Promise.all(conns);
    await until(() => listener.inflight.size === 0);
  });

  it("an idle keep-alive connection is closed after the timeout; one busy longer than it is not cut", async () => {
    const { port } = await bare((_head, _body, ex) => setTimeout(() => ex.respond({ status: 200, headers: {}, body: Buffer.from("slow") }), 200), 100);
    const t0 = Date.now();
    const { out, closedByServer } = await talk(port, ["GET / HTTP/1.1\r\nHost: a\r\n\r\n"], { ms: 900 });
    expect(statuses(out)).toEqual([200]);
    expect(out).toContain("slow");
    expect(closedByServer).toBe(true);
    expect(Date.now() - t0).toBeLessThan(700);
  });
});

describe("HTTP/1.1 listener backpressure", () => {
  it("stops taking pipelined requests while the client does not read the answers, and resumes when it does", async () => {
    let handled = 0;
    const answer = Buffer.alloc(16 * 1024, "a");
    const { port } = await listen(async () => (handled++, { status: 200, headers: {}, body: answer }));
    const n = 1000;
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    s.pause(); // reads nothing yet
    await new Promise((r) => s.once("connect", r));
    s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(n));
    await new Promise((r) => setTimeout(r, 150));
    const whileBlocked = handled;
    // 16 MiB of answers would have been queued in the sidecar; only what the socket buffers took.
    expect(whileBlocked).toBeLessThan(n / 2);
    let got = 0;
    s.on("data", (d: Buffer) => (got += d.length));
    s.resume();
    await until(() => handled === n, 5000);
    await until(() => got >= n * answer.length, 5000);
    s.destroy();
  });
});

describe("HTTP/1.1 listener connection teardown", () => {
  it("an early answer while the unread body has the socket paused still lets the socket close once the client does", async () => {
    const { port, closed } = await bare((_head, body, ex) => {
      // Answer only once the body stream is full (the socket is paused by backpressure).
      setTimeout(() => ex.respond({ status: 413, headers: {}, body: Buffer.from("no") }), 50);
      void body;
    });
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    s.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${1 << 20}\r\n\r\n`);
    s.write(Buffer.alloc(256 * 1024, "x"));
    let out = "";
    s.on("data", (d) => (out += d.toString("latin1")));
    await new Promise((r) => s.once("end", r)); // our FIN after the answer
    expect(out).toMatch(/^HTTP\/1\.1 413 [^]*connection: close\r\n/);
    s.end(); // the client's FIN: the server socket must now go away
    const t0 = Date.now();
    await closed[0];
    expect(Date.now() - t0).toBeLessThan(250);
  });

  it("a client that keeps its side open (even sending) after the answer is cut off after the keep-alive timeout", async () => {
    const { port, closed } = await bare((_head, _body, ex) => ex.respond({ status: 413, headers: {}, body: null }));
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    s.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nabc`);
    const drip = setInterval(() => s.write("x"), 50);
    const t0 = Date.now();
    await closed[0];
    clearInterval(drip);
    expect(Date.now() - t0).toBeLessThan(700);
    s.destroy();
  });
});

describe("HTTP/1.1 listener Host checks", () => {
  it("refuses a Host (or absolute-form authority) that is not uri-host[:port]; accepts names, IPv6 and ports", async () => {
    const { port } = await listen(async (req) => ({ status: 200, headers: {}, body: Buffer.from(req.authority) }));
    for (const host of ["a b", "evil/x", "u@good", "a\\b", "h\xe9", "a?b"]) {
      const { out } = await talk(port, [`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`], { doneWhen: (o) => o.includes("\r\n\r\n{") });
      expect(statuses(out), host).toEqual([400]);
    }
    const abs = await talk(port, ["GET http://u@good/x HTTP/1.1\r\nHost: good\r\n\r\n"], { doneWhen: (o) => o.includes("\r\n\r\n{") });
    expect(statuses(abs.out)).toEqual([400]);
    for (const host of ["svc.ns.svc.cluster.local:8080", "[::1]:80", "127.0.0.1"]) {
      const { out } = await talk(port, [`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`], { doneWhen: (o) => o.endsWith(host) });
      expect(statuses(out), host).toEqual([200]);
    }
  });
});

describe("HTTP/1.1 listener answer checks", () => {
  it("an answer with a 1xx status or a header name that is not a token becomes a 502 and closes", async () => {
    const { port } = await listen(async (req) => {
      if (req.path === "/1xx") return { status: 103, headers: {}, body: null };
      return { status: 200, headers: { [req.path === "/crlf" ? "x\r\nset-cookie: pwned=1\r\nx" : "bad name"]: "v" }, body: null };
    });
    for (const path of ["/1xx", "/crlf", "/space"]) {
      const { out, closedByServer } = await talk(port, [`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`]);
      expect(statuses(out), path).toEqual([502]);
      expect(out).not.toContain("pwned");
      expect(closedByServer).toBe(true);
    }
  });
});

describe("HTTP/1.1 listener stalled bodies", () => {
  it("a client silent for the idle timeout in the middle of its body is cut off; the handler's stream errors", async () => {
    let seen: Error | undefined;
    const { port } = await bare((_head, body, ex) => {
      body!.on("data", () => {});
      body!.on("error", (err) => (seen = err));
      body!.on("end", () => ex.respond({ status: 200, headers: {}, body: null }));
    }, 100);
    const t0 = Date.now();
    const { out, closedByServer } = await talk(port, ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabcd"], { ms: 900 });
    expect(closedByServer).toBe(true);
    expect(out).toBe("");
    expect(seen).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(500);
  });
});

describe("HTTP/1.1 listener in-flight accounting", () => {
  it("clients that go away while big answers (whole or streamed) are being written leave no in-flight exchange behind", async () => {
    const big = Buffer.alloc(1 << 20, "z");
    const { port, listener } = await listen(async (req) => ({ status: 200, headers: {}, body: req.path === "/whole" ? big : Readable.from([big, big]) }));
    const runs: Promise<void>[] = [];
    for (let i = 0; i < 20; i++)
      runs.push(
        new Promise((resolve) => {
          const s = net.connect(port, "127.0.0.1", () => s.write(`GET ${i % 2 ? "/whole" : "/stream"} HTTP/1.1\r\nHost: a\r\n\r\n`));
          s.once("data", () => s.destroy());
          s.on("error", () => {});
          s.on("close", () => resolve());
        }),
      );
    await Promise.all(runs);
    await until(() => listener.inflight.size === 0);
  });
});

describe("HTTP/1.1 listener exchanges", () => {
  it("a second or late respond() of a request is dropped, never taken as the answer to the next pipelined request", async () => {
    const { port } = await bare((head, _body, ex) => {
      if (head.target === "/1") {
        ex.respond({ status: 200, headers: {}, body: Buffer.from("first") });
        ex.respond({ status: 500, headers: {}, body: Buffer.from("twice") });
        // Once /2 is being handled: would answer it.
        setTimeout(() => ex.respond({ status: 500, headers: {}, body: Buffer.from("stale") }), 5);
      } else setTimeout(() => ex.respond({ status: 200, headers: {}, body: Buffer.from("second") }), 20);
    }, 1000);
    const { out } = await talk(port, ["GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"], { doneWhen: (o) => o.endsWith("second") });
    expect(statuses(out)).toEqual([200, 200]);
    expect(out).toMatch(/first[^]*second$/);
    expect(out).not.toContain("stale");
    expect(out).not.toContain("twice");
  });
});
