import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshError, type MeshRequest } from "../core/handler.js";
import { H1Pool } from "./h1/pool.js";
import { sendH1 } from "./send-h1.js";
import { connectTcp } from "./tcp-connect.js";

const big = Buffer.alloc(1024 * 1024, 120);
let server: http.Server;
let pool: H1Pool;

function req(path: string, signal = new AbortController().signal): MeshRequest {
  return { method: "GET", authority: "app", path, headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal };
}

async function text(body: NodeJS.ReadableStream | Buffer | null): Promise<string> {
  if (Buffer.isBuffer(body)) return body.toString();
  let s = "";
  for await (const c of body!) s += String(c);
  return s;
}

beforeAll(async () => {
  server = http.createServer((r, res) => {
    if (r.url === "/big") {
      res.writeHead(200, { "content-length": big.length });
      res.end(big);
      return;
    }
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.writeHead(201, { "x-name": "ü", "content-length": 2 });
    res.end(r.headers.host === "app" ? "ok" : "no");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  pool = new H1Pool({ connect: (done) => connectTcp("127.0.0.1", (server.address() as AddressInfo).port, done), maxConnections: 1 });
});

afterAll(async () => {
  await pool.close();
  server.close();
});

describe("sendH1", () => {
  it("returns status, lower-case headers (repeated ones as arrays) and the body", async () => {
    const res = await sendH1(pool, req("/"), "app");
    expect(Buffer.isBuffer(res.body)).toBe(true); // small: whole in memory, no stream
    expect(res.status).toBe(201);
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    // The bytes the app sent (UTF-8 here), kept one latin1 char per byte for the downstream writer.
    expect(Buffer.from(res.headers["x-name"] as string, "latin1").toString("utf8")).toBe("ü");
    expect(await text(res.body)).toBe("ok");
  });

  it("a body destroyed half-read aborts its exchange; the pool's next request still works", async () => {
    const res = await sendH1(pool, req("/big"), "app");
    expect(Buffer.isBuffer(res.body)).toBe(false); // 1 MiB: streamed
    (res.body as NodeJS.ReadableStream & { destroy(): void }).destroy();
    const again = await sendH1(pool, req("/"), "app");
    expect(await text(again.body)).toBe("ok");
  });

  it("an aborted signal rejects with its MeshError reason", async () => {
    const c = new AbortController();
    const reason = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "gone");
    c.abort(reason);
    await expect(sendH1(pool, req("/", c.signal), "app")).rejects.toBe(reason);
  });
});
