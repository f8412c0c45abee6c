// API writes become SERVER spans of the control plane (continuing the caller's traceparent) when
// an OTLP endpoint is set; reads do not. A real control plane on a real etcd exporting to a real
// OTLP/HTTP receiver on 127.0.0.1.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { createLogger } from "../../shared/log.js";
import { useEtcd } from "../harness/etcd.js";
import { startOtlpReceiver, type OtlpReceiver } from "../harness/otlp-receiver.js";

const etcd = useEtcd();
const TOKEN = "api-tracing-admin";
const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SID = "00f067aa0ba902b7";
let rx: OtlpReceiver;
let cp: ControlPlane | undefined;
let dataDir: string;

beforeAll(async () => {
  rx = await startOtlpReceiver();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-api-tracing-"));
});
afterAll(async () => {
  await cp?.close();
  await rx.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

it("PUT, DELETE and POST tokens are traced with route, kind, name and status; GET is not", async () => {
  const saved = process.env.TSMESH_OTLP_ENDPOINT;
  process.env.TSMESH_OTLP_ENDPOINT = rx.url;
  try {
    cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir, token: TOKEN, plugins: [], log: createLogger("test", { level: "error" }) });
  } finally {
    if (saved === undefined) delete process.env.TSMESH_OTLP_ENDPOINT;
    else process.env.TSMESH_OTLP_ENDPOINT = saved;
  }
  const call = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${cp!.apiPort}${p}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => (await r.text(), r.status));
  const route = { apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: "traced" }, spec: { hosts: ["web"], rules: [{ backends: [{ service: "web", weight: 1 }] }] } };
  expect(await call("PUT", "/api/v1/routes/traced", route, { traceparent: `00-${TID}-${SID}-01` })).toBe(201);
  expect(await call("GET", "/api/v1/routes/traced")).toBe(200);
  expect(await call("PUT", "/api/v1/routes/bad", { ...route, metadata: { name: "bad" }, spec: {} })).toBe(400);
  expect(await call("DELETE", "/api/v1/routes/traced")).toBe(200);
  expect(await call("POST", "/api/v1/tokens", { service: "web", ttl: "1m" })).toBe(201);
  await cp!.close(); // flushes the exporter
  cp = undefined;

  const spans = rx.spans.filter((s) => s.service === "tsmesh-control-plane");
  expect(spans.map((s) => [s.name, s.attributes["http.response.status_code"], s.attributes["tsmesh.resource.name"]])).toEqual([
    ["PUT /api/v1/{plural}/{name}", 201, "traced"],
    ["PUT /api/v1/{plural}/{name}", 400, "bad"],
    ["DELETE /api/v1/{plural}/{name}", 200, "traced"],
    ["POST /api/v1/tokens", 201, undefined],
  ]);
  expect(spans[0]).toMatchObject({ traceId: TID, parentSpanId: SID, kind: "SPAN_KIND_SERVER", attributes: { "tsmesh.resource.kind": "HTTPRoute", "http.route": "/api/v1/{plural}/{name}" } });
  expect(spans[1]!.parentSpanId).toBe("");
}, 30_000);
