// The kubelet's probes of an injected pod, end to end: `tsmesh inject` rewrites the app's
// httpGet/tcpSocket/grpc probes to /app-health/<container>/<probe> on the admin port and hands
// the originals to the proxy in TSMESH_APP_PROBERS; a real `tsmesh sidecar` process started with
// that env performs each probe against real local apps, answering 200 while the app passes and
// 503 with the reason once it stops (before, the plaintext probe hit the mTLS listener and the
// pod never became Ready).
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { injectYaml } from "../../shared/inject/index.js";
import { loadHealthProto } from "../../shared/proto/health.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { startPkiSidecar, type SidecarProcess } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let pki: TestPki;
let sidecar: SidecarProcess;
let web: http.Server;
let tcp: net.Server;
let rpc: grpc.Server;
let rpcStatus = "SERVING";
let rewritten: Obj;

const listen = (s: net.Server) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
const close = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

async function probe(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${sidecar.admin}${path}`);
  return { status: res.status, body: await res.text() };
}
const untilStatus = (path: string, status: number) => until(`${path} -> ${status}`, async () => ((await probe(path)).status === status ? true : undefined), 10_000, 50);

beforeAll(async () => {
  pki = createTestPki("app-probes");
  // /healthz passes only with the probe's own header; /hang never answers (timeout bound).
  web = http.createServer((req, res) => {
    if (req.url === "/hang") return;
    res.writeHead(req.url === "/healthz?deep=1" && req.headers["x-probe"] === "kubelet" ? 204 : 500).end();
  });
  tcp = net.createServer((s) => s.destroy());
  const [webPort, tcpPort] = [await listen(web), await listen(tcp)];
  const { Health } = await loadHealthProto();
  rpc = new grpc.Server();
  rpc.addService(Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { status: call.request.service === "orders.v1.Orders" ? rpcStatus : "SERVICE_UNKNOWN" }),
  });
  const rpcPort = await new Promise<number>((resolve, reject) =>
    rpc.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );

  const pod = `apiVersion: v1
kind: Pod
metadata: {name: orders, labels: {app: orders}}
spec:
  serviceAccountName: orders
  containers:
    - name: web
      image: orders:1
      ports: [{name: http, containerPort: ${webPort}}, {name: raw, containerPort: ${tcpPort}}]
      readinessProbe:
        httpGet: {path: "/healthz?deep=1", port: http, httpHeaders: [{name: X-Probe, value: kubelet}]}
        periodSeconds: 2
      livenessProbe: {tcpSocket: {port: raw}}
      startupProbe: {httpGet: {path: /hang, port: http}, timeoutSeconds: 1}
    - name: rpc
      image: rpc:1
      readinessProbe: {grpc: {port: ${rpcPort}, service: orders.v1.Orders}}
`;
  rewritten = parseAllDocuments(injectYaml(pod).yaml)[0]!.toJS() as Obj;
  const proxy = (rewritten.spec.initContainers as Obj[]).find((c) => c.name === "tsmesh-proxy")!;
  const env = (proxy.env as { name: string; value: string }[]).find((e) => e.name === "TSMESH_APP_PROBERS")!;
  sidecar = await startPkiSidecar(pki, "orders", webPort, undefined, { env: { TSMESH_APP_PROBERS: env.value } });
}, 40_000);

afterAll(async () => {
  await sidecar?.stop();
  await Promise.all([web && close(web), tcp && close(tcp), rpc && new Promise<void>((r) => rpc.tryShutdown(() => r()))]);
  pki?.cleanup();
});

const pathOf = (container: string, field: string): string => (rewritten.spec.containers as Obj[]).find((c) => c.name === container)![field].httpGet.path;

describe("sidecar performs the app probes injection moved to /app-health", () => {
  it("bounds a probe by its timeoutSeconds, and answers 404 for an unknown container or probe", async () => {
    const started = Date.now();
    const hung = await probe("/app-health/web/startupz");
    expect(hung.status).toBe(503);
    expect(hung.body).toMatch(/timed out after 1000 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await probe("/app-health/nope/readyz")).status).toBe(404);
    expect((await probe("/app-health/web/healthz")).status).toBe(404);
  });

  it("answers an httpGet probe (named port, headers) 200 while the app passes, 503 with the reason after it stops", async () => {
    const path = pathOf("web", "readinessProbe");
    expect(path).toBe("/app-health/web/readyz");
    expect(await probe(path)).toEqual({ status: 200, body: expect.stringMatching(/status 204\n$/) });
    web.closeAllConnections();
    await close(web);
    await untilStatus(path, 503);
    const failed = await probe(path);
    expect(failed.body).toMatch(/^HTTP GET 127\.0\.0\.1:\d+\/healthz\?deep=1: .*ECONNREFUSED.*\n$/);
    expect(failed.body.trim().split("\n")).toHaveLength(1);
  });

  it("answers a tcpSocket probe 200 while the port accepts, 503 once it is closed", async () => {
    const path = pathOf("web", "livenessProbe");
    expect(path).toBe("/app-health/web/livez");
    expect((await probe(path)).status).toBe(200);
    await close(tcp);
    await untilStatus(path, 503);
    expect((await probe(path)).body).toMatch(/^TCP 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it("answers a grpc probe by Health/Check of the named service: SERVING is 200, anything else 503", async () => {
    const path = pathOf("rpc", "readinessProbe");
    expect(path).toBe("/app-health/rpc/readyz");
    expect(await probe(path)).toEqual({ status: 200, body: expect.stringMatching(/service orders\.v1\.Orders: SERVING\n$/) });
    rpcStatus = "NOT_SERVING";
    expect(await probe(path)).toEqual({ status: 503, body: expect.stringMatching(/: NOT_SERVING\n$/) });
    rpc.forceShutdown();
    await untilStatus(path, 503);
    expect((await probe(path)).body).toMatch(/^gRPC Health\/Check .*: (?!NOT_SERVING)/);
  });

});
