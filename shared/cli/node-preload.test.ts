// The preload in the process it runs in: plain-http requests for other hosts go to the outbound
// listener (a stand-in here that answers with the Host it was sent); localhost and https:// go
// where the app sent them.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshedHost, meshedOrigin, outboundAddress } from "./node-preload.js";

let outbound: http.Server;
let local: http.Server;
let tlsTarget: net.Server;
const seen = { outbound: [] as string[], local: 0, tls: 0 };
const portOf = (s: net.Server) => (s.address() as AddressInfo).port;
const listen = (s: net.Server) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));

beforeAll(async () => {
  outbound = http.createServer((req, res) => {
    seen.outbound.push(`${req.headers.host}${req.url}`);
    res.end(`via outbound: ${req.headers.host}`);
  });
  local = http.createServer((_req, res) => {
    seen.local++;
    res.end("direct");
  });
  // Not TLS: it counts the connection and closes it, which the client sees as a failed handshake.
  tlsTarget = net.createServer((socket) => {
    seen.tls++;
    socket.destroy();
  });
  await Promise.all([listen(outbound), listen(local), listen(tlsTarget)]);
  process.env.TSMESH_OUTBOUND = `127.0.0.1:${portOf(outbound)}`;
  process.env.NO_PROXY = "localhost,::1"; // 127.0.0.1 left out: only the https:// scheme keeps it direct
  await import("./node-preload.js?installed");
});

afterAll(async () => {
  for (const s of [outbound, local, tlsTarget]) s.closeAllConnections?.();
  await Promise.all([outbound, local, tlsTarget].map((s) => new Promise((r) => s.close(r))));
});

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

describe("node preload", () => {
  it("sends fetch and http.get for a mesh host to the outbound listener with the target's Host", async () => {
    expect(await (await fetch("http://api/hello")).text()).toBe("via outbound: api");
    expect(await httpGet("http://api:8080/x")).toBe("via outbound: api:8080");
    expect(seen.outbound).toEqual(["api/hello", "api:8080/x"]);
  });

  it("leaves localhost (NO_PROXY) alone for fetch and http.get", async () => {
    const before = seen.outbound.length;
    expect(await (await fetch(`http://localhost:${portOf(local)}/`)).text()).toBe("direct");
    expect(await httpGet(`http://localhost:${portOf(local)}/`)).toBe("direct");
    expect(seen.local).toBe(2);
    expect(seen.outbound.length).toBe(before);
  });

  it("leaves https:// alone for fetch and https.get", async () => {
    const before = seen.outbound.length;
    await expect(fetch(`https://127.0.0.1:${portOf(tlsTarget)}/`)).rejects.toThrow();
    await expect(new Promise((resolve, reject) => https.get(`https://127.0.0.1:${portOf(tlsTarget)}/`, resolve).on("error", reject))).rejects.toThrow();
    expect(seen.tls).toBe(2);
    expect(seen.outbound.length).toBe(before);
  });

  it("parses TSMESH_OUTBOUND and NO_PROXY", () => {
    expect(outboundAddress("127.0.0.1:15001")).toEqual({ host: "127.0.0.1", port: 15001 });
    expect(outboundAddress("[::1]:15001")).toEqual({ host: "::1", port: 15001 });
    for (const bad of [undefined, "", "127.0.0.1", "h:0", "h:70000", "h:x"]) expect(outboundAddress(bad)).toBeUndefined();
    const np = "localhost,127.0.0.1,::1,.internal";
    expect(meshedHost("api", np)).toBe(true);
    expect(meshedHost("[::1]", np)).toBe(false);
    expect(meshedHost("db.internal", np)).toBe(false);
    expect(meshedHost("api", "*")).toBe(false);
    expect(meshedOrigin("http://api", np)).toBe(true);
    expect(meshedOrigin("https://api", np)).toBe(false);
    expect(meshedOrigin("http://127.0.0.1:8080", np)).toBe(false);
  });
});
