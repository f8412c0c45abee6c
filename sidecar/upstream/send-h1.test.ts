import http from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshError, type MeshRequest } from "../core/handler.js";
import { headersOf, sendH1 } from "./send-h1.js";

const big = Buffer.alloc(1024 * 1024, 120);
let server: http.Server;
let pool: Pool;

function req(path: string, signal = new AbortController().signal): MeshRequest {
  return { method: "GET", authority: "app", path, headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal };
}

async function text(body: NodeJS.ReadableStream | null): Promise<string> {
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
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1, pipelining: 1 });
});

afterAll(async () => {
  await pool.close();
  server.close();
});

describe("sendH1", () => {
  it("returns status, lower-case headers (repeated ones as arrays) and the body", async () => {
    const res = await sendH1(pool, req("/"), "app");
    expect(res.status).toBe(201);
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(res.headers["x-name"]).toBe("ü");
    expect(await text(res.body)).toBe("ok");
  });

  it("a body destroyed half-read aborts its exchange; the pool's next request still works", async () => {
    const res = await sendH1(pool, req("/big"), "app");
    res.body!.destroy();
    const again = await sendH1(pool, req("/"), "app");
    expect(await text(again.body)).toBe("ok");
  });

  it("an aborted signal rejects with its MeshError reason", async () => {
    const c = new AbortController();
    const reason = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "gone");
    c.abort(reason);
    await expect(sendH1(pool, req("/", c.signal), "app")).rejects.toBe(reason);
  });

  it("headersOf joins repeated names and lower-cases them", () => {
    expect(headersOf([Buffer.from("A"), Buffer.from("1"), Buffer.from("a"), Buffer.from("2"), Buffer.from("B"), Buffer.from("x")])).toEqual({ a: ["1", "2"], b: "x" });
  });
});
