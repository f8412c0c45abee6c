// Observability end to end: client -> sidecar -> sidecar -> app1 -> sidecar -> sidecar -> app2
// over loopback with real sidecar processes and mTLS. One trace per request reaches the OTLP
// receiver (decoded with the official OTel protos) with correct parent/child links, and each
// sidecar's /metrics counts exactly the requests sent.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { serviceIdentity } from "../../shared/identity.js";
import type { HTTPRoute } from "../../shared/schema/kinds.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../harness/otlp-receiver.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";

const PROPAGATED = ["traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"];

let pki: TestPki;
let rx: OtlpReceiver;
let app2: TestApp;
let flaky: TestApp;
let app1: http.Server;
let app1Outbound = 0;
const sidecars: SidecarProcess[] = [];
let client: SidecarProcess;
let s1: SidecarProcess;
let s2: SidecarProcess;
let sf: SidecarProcess;

/** app1 calls app2 through its own sidecar, passing the trace headers on as instrumented apps do. */
function startApp1(): Promise<number> {
  app1 = http.createServer((req, res) => {
    const headers: Record<string, string> = { host: "app2" };
    for (const h of PROPAGATED) {
      const v = req.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    request(`http://127.0.0.1:${app1Outbound}/from-app1${req.url}`, { headers })
      .then(async (up) => {
        const body = await up.body.text();
        res.writeHead(up.statusCode, { "content-type": "application/json" });
        res.end(JSON.stringify({ app: "app1", inbound: req.headers, downstream: JSON.parse(body) as EchoReply }));
      })
      .catch((err: Error) => {
        res.writeHead(500).end(err.message);
      });
  });
  return new Promise((resolve) => app1.listen(0, "127.0.0.1", () => resolve((app1.address() as AddressInfo).port)));
}

beforeAll(async () => {
  pki = createTestPki("tracing");
  rx = await startOtlpReceiver();
  app2 = await startEchoApp({ name: "app2" });
  flaky = await startEchoApp({ name: "flaky", failEvery: 2 });
  const app1Port = await startApp1();
  const meshConfig = {
    trustDomain: "cluster.local",
    mtls: "STRICT" as const,
    logLevel: "warn" as const,
    tracing: { sampling: 1, otlpEndpoint: rx.url },
  };
  // Short batch delay so spans arrive within the test (the SDK's default is 5 s).
  const env = { OTEL_BSP_SCHEDULE_DELAY: "100" };
  const start = (service: string, appPort: number, endpoints: Record<string, ReturnType<typeof endpointsAt>>, routes: HTTPRoute[] = []) =>
    startSidecarProcess({ service, appPort, certs: pki.issue(service), dir: pki.dir, env, snapshot: snapshotOf({ meshConfig, endpoints, routes }) });
  s2 = await start("app2", app2.port, {});
  sf = await start("flaky", flaky.port, {});
  s1 = await start("app1", app1Port, { app2: endpointsAt("app2", [s2.inbound]) });
  app1Outbound = s1.outbound;
  const retryRoute: HTTPRoute = {
    apiVersion: "tsmesh.dev/v1",
    kind: "HTTPRoute",
    metadata: { name: "flaky" },
    spec: { hosts: ["flaky"], rules: [{ backends: [{ service: "flaky", weight: 1 }], retry: { attempts: 3, retryOn: ["5xx"], backoff: { base: "1ms", max: "2ms" } } }] },
  };
  client = await start("client", 1, { app1: endpointsAt("app1", [s1.inbound]), flaky: endpointsAt("flaky", [sf.inbound]) }, [retryRoute]);
  sidecars.push(s2, sf, s1, client);
}, 60_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop("SIGKILL")));
  await new Promise((r) => app1?.close(r));
  await app2?.close();
  await flaky?.close();
  await rx?.close();
  pki?.cleanup();
});

async function call(headers: Record<string, string> = {}, host = "app1"): Promise<{ status: number; body: { app: string; downstream: EchoReply } }> {
  const res = await request(`http://127.0.0.1:${client.outbound}/hello?i=1`, { headers: { host, ...headers } });
  return { status: res.statusCode, body: (await res.body.json()) as { app: string; downstream: EchoReply } };
}

function chain(spans: ReceivedSpan[], traceId: string): ReceivedSpan[] {
  const mine = spans.filter((s) => s.traceId === traceId);
  const out: ReceivedSpan[] = [];
  let parent = mine.find((s) => !mine.some((p) => p.spanId === s.parentSpanId));
  while (parent) {
    out.push(parent);
    const id = parent.spanId;
    const children = mine.filter((s) => s.parentSpanId === id);
    expect(children.length).toBeLessThanOrEqual(1);
    parent = children[0];
  }
  expect(out).toHaveLength(mine.length); // every span of the trace is on the one chain
  return out;
}

function counter(text: string, labels: Record<string, string>): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith("tsmesh_requests_total{") && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("tracing across two hops", () => {
  const N = 5;
  const traceIds: string[] = [];

  it("one trace per request: six spans, each the child of the previous one", async () => {
    for (let i = 0; i < N; i++) {
      const { status, body } = await call();
      expect(status).toBe(200);
      expect(body.downstream.app).toBe("app2");
      const tp = String(body.downstream.headers.traceparent);
      traceIds.push(tp.split("-")[1]!);
    }
    expect(new Set(traceIds).size).toBe(N);
    await rx.waitFor((spans) => traceIds.every((t) => spans.filter((s) => s.traceId === t).length === 6), 15_000);

    for (const t of traceIds) {
      const c = chain(rx.spans, t);
      expect(c.map((s) => [s.service, s.kind])).toEqual([
        ["client", "SPAN_KIND_INTERNAL"],
        ["client", "SPAN_KIND_CLIENT"],
        ["app1", "SPAN_KIND_SERVER"],
        ["app1", "SPAN_KIND_INTERNAL"],
        ["app1", "SPAN_KIND_CLIENT"],
        ["app2", "SPAN_KIND_SERVER"],
      ]);
      expect(c[0]!.parentSpanId).toBe("");
      for (const s of c) {
        expect(s.attributes["http.response.status_code"]).toBe(200);
        expect(s.status).not.toBe("STATUS_CODE_ERROR");
        expect(s.startNs).toBeGreaterThanOrEqual(c[0]!.startNs);
      }
      expect(c[1]!.attributes).toMatchObject({ "tsmesh.retry.attempt": 0, "tsmesh.peer.identity": serviceIdentity("app1"), "tsmesh.route": "default" });
      expect(c[2]!.attributes).toMatchObject({ "tsmesh.peer.identity": serviceIdentity("client"), "url.path": "/hello", "http.request.method": "GET" });
      expect(c[4]!.attributes).toMatchObject({ "tsmesh.peer.identity": serviceIdentity("app2"), "server.address": "app2" });
      expect(c[5]!.attributes).toMatchObject({ "tsmesh.peer.identity": serviceIdentity("app1"), "url.path": "/from-app1/hello" });
    }
  }, 30_000);

  it("the app sees its sidecar's SERVER span as parent, in W3C and B3", async () => {
    const { body } = await call();
    const h = body.downstream.headers;
    const [, traceId, spanId] = String(h.traceparent).split("-");
    const spans = await rx.waitFor((s) => s.some((x) => x.spanId === spanId), 15_000);
    const server = spans.find((x) => x.spanId === spanId)!;
    expect(server).toMatchObject({ service: "app2", kind: "SPAN_KIND_SERVER", traceId });
    expect(h.b3).toBe(`${traceId}-${spanId}-1`);
    expect([h["x-b3-traceid"], h["x-b3-spanid"], h["x-b3-sampled"]]).toEqual([traceId, spanId, "1"]);
    traceIds.push(traceId!);
  }, 20_000);

  it("continues a caller's trace sent as W3C or as B3", async () => {
    const w3cTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const b3Trace = "80f198ee56343ba864fe8b2a57d3eff7";
    const r1 = await call({ traceparent: `00-${w3cTrace}-00f067aa0ba902b7-01` });
    const r2 = await call({ "x-b3-traceid": b3Trace, "x-b3-spanid": "e457b5a2e4d86bd1", "x-b3-sampled": "1" });
    expect(String(r1.body.downstream.headers.traceparent).split("-")[1]).toBe(w3cTrace);
    expect(String(r2.body.downstream.headers.traceparent).split("-")[1]).toBe(b3Trace);
    await rx.waitFor((s) => [w3cTrace, b3Trace].every((t) => s.filter((x) => x.traceId === t).length === 6), 15_000);
    expect(chain(rx.spans, w3cTrace)[0]!.parentSpanId).toBe("00f067aa0ba902b7");
    expect(chain(rx.spans, b3Trace)[0]!.parentSpanId).toBe("e457b5a2e4d86bd1");
    traceIds.push(w3cTrace, b3Trace);
  }, 20_000);

  it("/metrics on each sidecar counts exactly the requests sent", async () => {
    const sent = traceIds.length;
    const metrics = async (s: SidecarProcess) => (await request(`http://127.0.0.1:${s.admin}/metrics`)).body.text();
    const [mc, m1, m2] = await Promise.all([metrics(client), metrics(s1), metrics(s2)]);
    expect(counter(mc, { direction: "outbound", source: "default/client", destination: "default/app1", route: "default", code: "200" })).toBe(sent);
    expect(counter(m1, { direction: "inbound", source: "default/client", destination: "default/app1", code: "200" })).toBe(sent);
    expect(counter(m1, { direction: "outbound", source: "default/app1", destination: "default/app2", code: "200" })).toBe(sent);
    expect(counter(m2, { direction: "inbound", source: "default/app1", destination: "default/app2", code: "200" })).toBe(sent);
    expect(mc).toMatch(/tsmesh_request_duration_seconds_bucket\{le="0.0005",direction="outbound"/);
    expect(mc).toContain("tsmesh_config_version 1");
  });
});

describe("tracing retries", () => {
  it("each attempt is its own CLIENT span with tsmesh.retry.attempt, siblings under the request span", async () => {
    // flaky answers 503 to every second request: the first call passes, the second needs a retry.
    const first = await call({}, "flaky");
    expect(first.status).toBe(200);
    const res = await request(`http://127.0.0.1:${client.outbound}/again`, { headers: { host: "flaky" } });
    const reply = (await res.body.json()) as EchoReply;
    expect(res.statusCode).toBe(200);
    const traceId = String(reply.headers.traceparent).split("-")[1]!;
    // request span + 2 attempts on the client sidecar, 2 SERVER spans on flaky's sidecar
    const spans = (await rx.waitFor((s) => s.filter((x) => x.traceId === traceId).length === 5, 15_000)).filter((x) => x.traceId === traceId);
    const top = spans.find((x) => x.kind === "SPAN_KIND_INTERNAL")!;
    const attempts = spans.filter((x) => x.kind === "SPAN_KIND_CLIENT").sort((a, b) => Number(a.startNs - b.startNs));
    expect(top.parentSpanId).toBe("");
    expect(top.attributes).toMatchObject({ "tsmesh.route": "flaky#0", "tsmesh.retries": 1, "http.response.status_code": 200 });
    expect(attempts.map((a) => [a.parentSpanId, a.attributes["tsmesh.retry.attempt"], a.attributes["http.response.status_code"], a.status])).toEqual([
      [top.spanId, 0, 503, "STATUS_CODE_ERROR"],
      [top.spanId, 1, 200, "STATUS_CODE_UNSET"],
    ]);
    for (const a of attempts) {
      const servers = spans.filter((x) => x.kind === "SPAN_KIND_SERVER" && x.parentSpanId === a.spanId);
      expect(servers.map((x) => x.service)).toEqual(["flaky"]);
    }
    const text = await (await request(`http://127.0.0.1:${client.admin}/metrics`)).body.text();
    expect(text).toContain('tsmesh_retries_total{destination="default/flaky",route="flaky#0"} 1');
    expect(counter(text, { direction: "outbound", destination: "default/flaky", route: "flaky#0", code: "200" })).toBe(2);
  }, 30_000);
});

