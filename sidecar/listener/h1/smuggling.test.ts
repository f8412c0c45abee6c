// Request smuggling, checked end to end through both codecs: random mutations of pipelined
// request streams (CL/TE combinations, stray CR/LF, spaces, NULs, folded lines, chunk-size tricks)
// go to the sidecar's HTTP/1.1 listener codec, which forwards every request it accepts through the
// sidecar's HTTP/1.1 client to a node:http (llhttp) server. Invariant: the upstream sees exactly
// the requests the listener accepted, with the same targets and bodies: nothing extra, nothing
// merged, whatever the input; and the process never throws. It fails, for one, if the client
// forwards the downstream's own framing headers instead of framing each request itself (checked
// by breaking that on purpose); the listener's refusals are pinned in request-head.test.ts.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTcp } from "../../upstream/tcp-connect.js";
import { H1Pool } from "../../upstream/h1/pool.js";
import { Http1Connection } from "./connection.js";

let upstream: http.Server;
let front: net.Server;
let pool: H1Pool;
/** Per test connection: what the listener accepted and what the upstream received. */
const accepted: string[] = [];
const received: string[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(`${req.method} ${req.url} ${body}`);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const port = (upstream.address() as net.AddressInfo).port;
  pool = new H1Pool({ connect: (done) => connectTcp("127.0.0.1", port, done), maxConnections: 1 });
  front = net.createServer((socket) => {
    new Http1Connection(socket, {
      maxHeaderSize: 4096,
      keepAliveTimeoutMs: 2000,
      headersTimeoutMs: 2000,
      draining: () => false,
      onRequest(head, body, exchange) {
        const chunks: Buffer[] = [];
        const forward = () => {
          const data = Buffer.concat(chunks);
          accepted.push(`${head.method} ${head.target} ${data.toString("latin1")}`);
          pool.dispatch(
            { method: head.method, path: head.target, authority: "up", headers: head.headers, body: data.length ? { kind: "buffered", data } : { kind: "empty" } },
            {
              onWhole: (h, b) => exchange.respond({ status: h.status, headers: {}, body: b }),
              onHeaders: () => true,
              onData: () => true,
              onComplete: () => exchange.respond({ status: 200, headers: {}, body: null }),
              onError: () => exchange.respond({ status: 502, headers: {}, body: null }),
            },
          );
        };
        if (!body) return forward();
        body.on("data", (c: Buffer) => chunks.push(c));
        body.on("end", forward);
        body.on("error", () => {});
      },
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  await pool.destroy();
  front.close();
  upstream.close();
});

// Deterministic pseudo-random numbers (mulberry32): a failure reproduces.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "Content-Length: 5\r\n",
  "Content-Length: 0\r\n",
  "Content-Length: 18\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Transfer-Encoding: chunked \r\n",
  "Transfer-Encoding: xchunked\r\n",
  "Transfer-Encoding:\tchunked\r\n",
  " Transfer-Encoding: chunked\r\n",
  "Content-Length : 5\r\n",
  "X-A: a\rb\r\n",
  "X-B: \x00\r\n",
  "Connection: close\r\n",
  "Expect: 100-continue\r\n",
];
const BODIES = ["hello", "5\r\nhello\r\n0\r\n\r\n", "0\r\n\r\n", "5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n", "ffffffffffffffff\r\n", "3\r\nhello\r\n0\r\n\r\n", ""];

function randomStream(r: () => number): string {
  let wire = "";
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const path = r() < 0.2 ? "/smuggled" : `/r${i}`;
    wire += `${r() < 0.1 ? "GET  " : r() < 0.5 ? "POST " : "GET "}${path} HTTP/1.1\r\nHost: b\r\n`;
    const fields = Math.floor(r() * 3);
    for (let f = 0; f < fields; f++) wire += PIECES[Math.floor(r() * PIECES.length)];
    wire += r() < 0.05 ? "\n" : "\r\n";
    wire += BODIES[Math.floor(r() * BODIES.length)];
  }
  return wire;
}

/** Sends `wire` without half-closing; done when the listener closed or answered all it accepted. */
function send(wire: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect((front.address() as net.AddressInfo).port, "127.0.0.1");
    let answers = 0;
    let closed = false;
    s.on("connect", () => s.write(wire, "latin1"));
    s.on("data", (d) => (answers += (d.toString("latin1").match(/HTTP\/1\.1 [0-9]{3} /g) ?? []).length));
    s.on("error", () => {});
    s.on("close", () => (closed = true));
    let last = -1;
    let polls = 0;
    const poll = setInterval(() => {
      polls++;
      const settled = answers === accepted.length && received.length === accepted.length && last === answers;
      last = answers;
      if (closed || settled || polls > 60) {
        clearInterval(poll);
        s.destroy();
        resolve();
      }
    }, 5);
  });
}

describe("no request smuggling through listener + client", () => {
  it("the upstream sees exactly the accepted requests for 200 random pipelined streams", async () => {
    const r = rng(20261127);
    let total = 0;
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      accepted.length = 0;
      received.length = 0;
      const wire = randomStream(r);
      await send(wire);
      // The upstream answers each forwarded request before the client connection closes, except
      // the last ones in flight: wait until both sides agree or a bound passes.
      for (let t = 0; t < 20 && received.length < accepted.length; t++) await new Promise((res) => setTimeout(res, 10));
      expect({ wire, received }).toEqual({ wire, received: accepted });
      total += accepted.length;
      if (accepted.length < (wire.match(/ HTTP\/1\.1\r\n/g) ?? []).length) refused++;
    }
    // The mix must exercise both sides: many requests through, many streams cut at a bad one.
    expect(total).toBeGreaterThan(80);
    expect(refused).toBeGreaterThan(40);
  }, 60_000);
});
