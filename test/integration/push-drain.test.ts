// Control-plane shutdown drains config streams first: the push plugin's drain() ends them with
// UNAVAILABLE before the gRPC server's graceful shutdown, so close() does not wait out its 5 s
// grace period on open streams and the sidecar is on the other replica at once.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { caPlugin, initCaDir } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import type { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { useEtcd } from "../harness/etcd.js";
import { identityFor, until, xdsFor, type TestSidecar } from "./push-harness.js";

const etcd = useEtcd();
const ADMIN = "drain-admin-token";
let tmp: string;
let cps: ControlPlane[] = [];
let wi: WorkloadIdentity | undefined;
let sidecar: TestSidecar | undefined;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-drain-"));
  const caDir = path.join(tmp, "ca");
  await initCaDir(caDir);
  const start = (id: string) =>
    startControlPlane({
      etcd: [etcd().endpoint],
      apiPort: 0,
      grpcPort: 0,
      dataDir: path.join(tmp, id),
      token: ADMIN,
      plugins: [caPlugin({ dir: caDir }), pushPlugin({ replicaId: id, debounceMs: 20 })],
    });
  cps = await Promise.all([start("cp-1"), start("cp-2")]);
  wi = await identityFor({ apiPort: cps[0]!.apiPort, grpcPort: cps[0]!.grpcPort, admin: ADMIN, caDir, service: "drained" });
}, 40_000);

afterAll(async () => {
  await sidecar?.client.stop();
  wi?.stop();
  for (const cp of cps) await cp.close();
  await fs.rm(tmp, { recursive: true, force: true });
}, 30_000);

it("close() ends config streams with UNAVAILABLE at once and the sidecar moves to the other replica", async () => {
  const [cp1, cp2] = cps as [ControlPlane, ControlPlane];
  const a1 = `127.0.0.1:${cp1.grpcPort}`;
  const a2 = `127.0.0.1:${cp2.grpcPort}`;
  const s = xdsFor(wi!, { addresses: [a1, a2], node: { service: "drained", instanceId: "drained-0" } });
  sidecar = s;
  const reasons: string[] = [];
  s.client.on("disconnected", (_addr: string, reason: string) => reasons.push(reason));
  await s.client.start();
  await until("connected to cp-1", () => s.client.connectedTo() === a1 || undefined);

  const t0 = Date.now();
  await cp1.close();
  const closeMs = Date.now() - t0;
  cps = [cp2];
  // Without the drain, tryShutdown waits its 5 s grace period on the open stream.
  expect(closeMs).toBeLessThan(2500);
  expect(reasons.join(" ")).toMatch(/UNAVAILABLE|shutting down/);
  await until("moved to cp-2", () => s.client.connectedTo() === a2 || undefined, 3000);
  expect(Date.now() - t0).toBeLessThan(4000);
}, 30_000);
