// Control-plane spans end to end: a `tsmesh control-plane` process picks its OTLP endpoint from a
// MeshConfig written through the API, then each config push to a connected sidecar is exported
// as a PRODUCER span (result ack) to the OTLP receiver.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { initCaDir } from "../../control-plane/ca/index.js";
import { freePort } from "../../shared/net/free-port.js";
import type { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { useEtcd } from "../harness/etcd.js";
import { startOtlpReceiver, type OtlpReceiver } from "../harness/otlp-receiver.js";
import { identityFor, route, until, xdsFor, type TestSidecar } from "../integration/push-harness.js";

const CLI = fileURLToPath(new URL("../../dist/shared/cli/main.js", import.meta.url));
const etcd = useEtcd();
const ADMIN = "tracing-admin-token";

let tmp: string;
let caDir: string;
let proc: ChildProcess;
let api = 0;
let grpc = 0;
let stderr = "";
let rx: OtlpReceiver;
let wi: WorkloadIdentity | undefined;
let sidecar: TestSidecar | undefined;

async function put(plural: string, body: { metadata: { name: string } } & Record<string, unknown>): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${api}/api/v1/${plural}/${body.metadata.name}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBeLessThan(300);
  return (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

beforeAll(async () => {
  rx = await startOtlpReceiver();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cp-tracing-"));
  caDir = path.join(tmp, "ca");
  await initCaDir(caDir);
  [api, grpc] = [await freePort(), await freePort()];
  const args = [CLI, "control-plane", "--etcd", etcd().endpoint, "--api-port", String(api), "--grpc-port", String(grpc), "--data-dir", path.join(tmp, "cp"), "--token", ADMIN];
  const env: NodeJS.ProcessEnv = { ...process.env, TSMESH_CA_DIR: caDir, TSMESH_REPLICA_ID: "cp-t", TSMESH_LOG_LEVEL: "warn", OTEL_BSP_SCHEDULE_DELAY: "100" };
  delete env.TSMESH_OTLP_ENDPOINT; // the endpoint must come from MeshConfig
  proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env });
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  await until("control plane ready", async () => {
    if (proc.exitCode !== null) throw new Error(`control plane exited: ${stderr}`);
    const res = await fetch(`http://127.0.0.1:${api}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 20_000, 100);
}, 60_000);

afterAll(async () => {
  await sidecar?.client.stop();
  wi?.stop();
  if (proc && proc.exitCode === null) {
    proc.kill("SIGKILL");
    await new Promise((r) => proc.once("exit", r));
  }
  await rx?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}, 30_000);

it("config pushes become spans once MeshConfig names an OTLP endpoint", async () => {
  wi = await identityFor({ apiPort: api, grpcPort: grpc, admin: ADMIN, caDir, service: "web" });
  sidecar = xdsFor(wi, { addresses: [`127.0.0.1:${grpc}`], node: { service: "web", instanceId: "web-0" } });
  await sidecar.client.start();
  await until("first snapshot", () => sidecar!.applied.length > 0);
  expect(rx.spans).toHaveLength(0); // no endpoint yet: nothing exported

  await put("meshconfig", {
    apiVersion: "tsmesh.dev/v1",
    kind: "MeshConfig",
    metadata: { name: "default" },
    spec: { tracing: { sampling: 1, otlpEndpoint: rx.url } },
  });
  await until("sidecar has the tracing config", () => sidecar!.client.snapshot()?.meshConfig.tracing?.otlpEndpoint === rx.url);
  const version = await put("routes", route("to-web", "web", "web"));
  await until("route pushed", () => Number(sidecar!.client.version()) >= Number(version));

  const spans = await rx.waitFor((s) => s.some((x) => x.name === "config push" && Number(x.attributes["tsmesh.config.version"]) >= Number(version)), 15_000);
  const push = spans.find((x) => x.name === "config push" && Number(x.attributes["tsmesh.config.version"]) >= Number(version))!;
  expect(push).toMatchObject({
    kind: "SPAN_KIND_PRODUCER",
    service: "tsmesh-control-plane",
    status: "STATUS_CODE_UNSET",
    attributes: { "tsmesh.sidecar": "web-0", "tsmesh.service": "web", "tsmesh.push.result": "ack" },
  });
  expect(push.resource["service.instance.id"]).toBe("cp-t");
  expect(push.endNs).toBeGreaterThanOrEqual(push.startNs);

  // The API writes through the same tracer, so MeshConfig's endpoint holds for its spans too.
  const isRouteWrite = (x: (typeof spans)[number]) => x.name === "PUT /api/v1/{plural}/{name}" && x.attributes["tsmesh.resource.name"] === "to-web";
  const write = (await rx.waitFor((s) => s.some(isRouteWrite), 15_000)).find(isRouteWrite)!;
  expect(write).toMatchObject({ kind: "SPAN_KIND_SERVER", service: "tsmesh-control-plane", attributes: { "http.response.status_code": 201 } });
  expect(write.resource["service.instance.id"]).toBe("cp-t");
}, 60_000);
