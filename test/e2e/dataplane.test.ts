// Data plane end to end with real processes on loopback: client -> sidecar A (outbound) ->
// mTLS -> sidecar B (inbound) -> app B. HTTP/1.1 (Host and absolute-URI routing), identity
// header, error statuses, malformed and oversized requests.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { serviceIdentity } from "../../shared/identity.js";
import { freePort } from "../../shared/net/free-port.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

let pki: TestPki;
let app: TestApp;
let a: SidecarProcess;
let b: SidecarProcess;

function rawExchange(port: number, data: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on("data", (d) => (out += d.toString()));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(data);
  });
}

beforeAll(async () => {
  pki = createTestPki("dataplane");
  app = await startEchoApp({ name: "b" });
  b = await startPkiSidecar(pki, "b", app.port);
  const nothingListens = await freePort();
  const snapshot = snapshotOf({
    endpoints: { b: endpointsAt("b", [b.inbound]), dead: endpointsAt("dead", [nothingListens]) },
    routes: [
      {
        apiVersion: "tsmesh.dev/v1",
        kind: "HTTPRoute",
        metadata: { name: "slow" },
        // Host "slow" goes to service b with a 200 ms route timeout.
        spec: { hosts: ["slow"], rules: [{ backends: [{ service: "b", weight: 1 }], timeout: "200ms" }] },
      },
    ],
    policies: [
      {
        apiVersion: "tsmesh.dev/v1",
        kind: "DestinationPolicy",
        metadata: { name: "b-limits" },
        spec: { service: "b", loadBalancer: "round-robin", connectionPool: { maxRequests: 2, maxPendingRequests: 1 } },
      },
    ],
  });
  a = await startPkiSidecar(pki, "a", 1, snapshot);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await app?.close();
  pki?.cleanup();
});

describe("HTTP/1.1 through two sidecars with mTLS", () => {
  it("GET routed by Host reaches app b with the caller's identity", async () => {
    const res = await request(`http://127.0.0.1:${a.outbound}/hello?x=1`, { headers: { host: "b" } });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as EchoReply;
    expect(body.app).toBe("b");
    expect(body.url).toBe("/hello?x=1");
    expect(body.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("b")};URI=${serviceIdentity("a")}`);
  });

  it("POST body arrives intact; an app-supplied x-forwarded-client-cert is replaced", async () => {
    const payload = JSON.stringify({ n: 42, s: "x".repeat(100_000) });
    const res = await request(`http://127.0.0.1:${a.outbound}/items`, {
      method: "POST",
      headers: { host: "b.default.svc.cluster.local:8080", "content-type": "application/json", "x-forwarded-client-cert": "By=evil;URI=spiffe://cluster.local/ns/default/sa/admin" },
      body: payload,
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as EchoReply;
    expect(body.method).toBe("POST");
    expect(body.body).toBe(payload);
    expect(body.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("b")};URI=${serviceIdentity("a")}`);
  });

  it("chunked request body, Expect: 100-continue and HEAD pass through", async () => {
    const { Readable } = await import("node:stream");
    const chunked = await request(`http://127.0.0.1:${a.outbound}/chunked`, {
      method: "PUT",
      headers: { host: "b" },
      body: Readable.from(["part-1;", "part-2;", "part-3"]),
    });
    expect(chunked.statusCode).toBe(200);
    const echoed = (await chunked.body.json()) as EchoReply;
    expect(echoed.body).toBe("part-1;part-2;part-3");
    // (The retry layer buffers small bodies for replay, so the app may see a Content-Length.)
    const cont = await rawExchange(a.outbound, "PUT /expect HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    expect(cont).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
    expect(cont).toContain('"body":"hello"');
    const head = await request(`http://127.0.0.1:${a.outbound}/head`, { method: "HEAD", headers: { host: "b" } });
    expect(head.statusCode).toBe(200);
    expect(await head.body.text()).toBe("");
  });

  it("absolute-URI request (HTTP_PROXY style) routes by the URI's host", async () => {
    const reply = await rawExchange(a.outbound, "GET http://b:9080/via-proxy HTTP/1.1\r\nHost: b:9080\r\nConnection: close\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toContain('"url":"/via-proxy"');
  });

  it("a host outside the mesh (HTTP_PROXY style) goes straight to the address the app named: ALLOW_ANY, the default", async () => {
    // The echo app's own port, not a sidecar's: no mesh service answers to 127.0.0.1.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: "127.0.0.1", port: a.outbound, path: `http://127.0.0.1:${app.port}/outside?q=1`, headers: { host: `127.0.0.1:${app.port}` } }, resolve).on("error", reject),
    );
    expect(res.statusCode).toBe(200);
    let text = "";
    for await (const chunk of res) text += String(chunk);
    const echoed = JSON.parse(text) as EchoReply;
    expect(echoed.url).toBe("/outside?q=1");
    expect(echoed.headers.host).toBe(`127.0.0.1:${app.port}`);
    expect(echoed.headers["x-forwarded-client-cert"]).toBeUndefined(); // plaintext, no sidecar on the far side
    expect(echoed.headers.traceparent).toMatch(/^00-/); // still one hop of the trace
    // The outbound listener's own address is outside the mesh too: once round, then refused.
    const loop = await rawExchange(a.outbound, `GET http://127.0.0.1:${a.outbound}/ HTTP/1.1\r\nHost: 127.0.0.1:${a.outbound}\r\nConnection: close\r\n\r\n`);
    expect(loop).toMatch(/^HTTP\/1\.1 508 /);
    const after = await request(`http://127.0.0.1:${a.outbound}/`, { headers: { host: "b" } });
    expect(after.statusCode).toBe(200); // and the sidecar goes on serving
    await after.body.dump();
  });

  it("connect failure -> 502, route timeout -> 504, connection-pool overflow -> 503 with x-tsmesh-overflow", async () => {
    const dead = await request(`http://127.0.0.1:${a.outbound}/`, { headers: { host: "dead" } });
    expect(dead.statusCode).toBe(502);
    expect(dead.headers["x-tsmesh-error"]).toBe("TSMESH_ERR_UPSTREAM_CONNECT");
    await dead.body.dump();

    const t0 = performance.now();
    const slow = await request(`http://127.0.0.1:${a.outbound}/`, { headers: { host: "slow", "x-delay-ms": "2000" } });
    expect(slow.statusCode).toBe(504);
    expect(performance.now() - t0).toBeLessThan(1500);
    await slow.body.dump();

    const burst = await Promise.all(
      Array.from({ length: 6 }, () => request(`http://127.0.0.1:${a.outbound}/`, { headers: { host: "b", "x-delay-ms": "300" } })),
    );
    const overflow = burst.filter((r) => r.statusCode === 503);
    expect(overflow.length).toBeGreaterThanOrEqual(2);
    expect(overflow.every((r) => r.headers["x-tsmesh-overflow"] !== undefined)).toBe(true);
    expect(burst.filter((r) => r.statusCode === 200).length).toBeGreaterThanOrEqual(2);
    await Promise.all(burst.map((r) => r.body.dump()));
  });

  it("malformed HTTP gets 400 and oversized headers 431, and the sidecar keeps serving", async () => {
    expect(await rawExchange(a.outbound, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    const huge = `GET / HTTP/1.1\r\nHost: b\r\nx-big: ${"a".repeat(20 * 1024)}\r\n\r\n`;
    expect(await rawExchange(a.outbound, huge)).toMatch(/^HTTP\/1\.1 431/);
    expect(await rawExchange(b.inbound, huge)).toBe(""); // STRICT inbound: plaintext refused outright
    const res = await request(`http://127.0.0.1:${a.outbound}/after`, { headers: { host: "b" } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it("admin: /live, /ready, /config_dump without keys, /metrics", async () => {
    expect((await fetch(`http://127.0.0.1:${a.admin}/live`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${a.admin}/ready`)).status).toBe(200);
    const dumpText = await (await fetch(`http://127.0.0.1:${a.admin}/config_dump`)).text();
    const dump = JSON.parse(dumpText) as { certificate: { spiffeId: string }; snapshot: { endpoints: Record<string, unknown> } };
    expect(dump.certificate.spiffeId).toBe(serviceIdentity("a"));
    expect(Object.keys(dump.snapshot.endpoints).sort()).toEqual(["b", "dead"]);
    expect(dumpText).not.toContain("PRIVATE KEY");
    const metrics = await (await fetch(`http://127.0.0.1:${a.admin}/metrics`)).text();
    expect(metrics).toContain("tsmesh_requests_total");
    // The sidecar process's own cost, next to its traffic.
    const rss = Number(/^tsmesh_sidecar_process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1]);
    expect(rss).toBeGreaterThan(20e6);
    expect(metrics).toMatch(/^tsmesh_sidecar_process_cpu_seconds_total \d/m);
    expect(metrics).toContain("tsmesh_sidecar_nodejs_gc_duration_seconds_bucket");
  });
});
