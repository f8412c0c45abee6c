// Two `tsmesh control-plane` processes on one etcd and one CA dir; xds clients (in-process, with
// certificates from the CA) spread over both. A route change reaches all of them; SIGKILL of a
// replica moves its sidecars to the other with their config intact, and the next change reaches
// them there.
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
import { apiGet, identityFor, route, until, xdsFor, type TestSidecar } from "../integration/push-harness.js";

const CLI = fileURLToPath(new URL("../../dist/shared/cli/main.js", import.meta.url));
const etcd = useEtcd();
const ADMIN = "failover-admin-token";

interface Replica {
  id: string;
  api: number;
  grpc: number;
  proc: ChildProcess;
  logs: () => string;
}

let tmp: string;
let caDir: string;
const replicas: Replica[] = [];
const fleet: TestSidecar[] = [];
const identities: WorkloadIdentity[] = [];

async function startReplica(id: string): Promise<Replica> {
  const [api, grpc] = [await freePort(), await freePort()];
  const args = [CLI, "control-plane", "--etcd", etcd().endpoint, "--api-port", String(api), "--grpc-port", String(grpc), "--data-dir", path.join(tmp, id), "--token", ADMIN];
  const proc = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, TSMESH_CA_DIR: caDir, TSMESH_REPLICA_ID: id, TSMESH_LOG_LEVEL: "warn" },
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  await until(`${id} ready`, async () => {
    if (proc.exitCode !== null) throw new Error(`${id} exited: ${stderr}`);
    const res = await fetch(`http://127.0.0.1:${api}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 20_000, 100);
  return { id, api, grpc, proc, logs: () => stderr };
}

async function put(replica: Replica, r: ReturnType<typeof route>): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${replica.api}/api/v1/routes/${r.metadata.name}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify(r),
  });
  expect(res.status).toBeLessThan(300);
  return ((await res.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-failover-"));
  caDir = path.join(tmp, "ca");
  await initCaDir(caDir);
  replicas.push(...(await Promise.all([startReplica("cp-1"), startReplica("cp-2")])));
}, 60_000);

afterAll(async () => {
  for (const s of fleet) await s.client.stop();
  for (const wi of identities) wi.stop();
  for (const r of replicas) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill("SIGTERM");
      await new Promise((res) => {
        const t = setTimeout(() => {
          r.proc.kill("SIGKILL");
          res(undefined);
        }, 8000);
        r.proc.once("exit", () => {
          clearTimeout(t);
          res(undefined);
        });
      });
    }
  }
  await fs.rm(tmp, { recursive: true, force: true });
}, 30_000);

it("a change reaches every sidecar; killing a replica moves its sidecars to the other with no config loss", async () => {
  const [cp1, cp2] = replicas as [Replica, Replica];
  const addr = (r: Replica) => `127.0.0.1:${r.grpc}`;
  for (const service of ["web", "reviews"]) {
    identities.push(await identityFor({ apiPort: cp1.api, grpcPort: cp1.grpc, admin: ADMIN, caDir, service }));
  }
  // Half prefer cp-1, half cp-2.
  for (let i = 0; i < 6; i++) {
    const wi = identities[i % 2]!;
    const service = i % 2 === 0 ? "web" : "reviews";
    const order = i < 3 ? [addr(cp1), addr(cp2)] : [addr(cp2), addr(cp1)];
    const s = xdsFor(wi, { addresses: order, node: { service, instanceId: `${service}-${i}` } });
    fleet.push(s);
    await s.client.start();
  }
  await until("all connected with a snapshot", () => fleet.every((s) => s.client.connectedTo() && s.applied.length > 0));
  expect(new Set(fleet.map((s) => s.client.connectedTo()))).toEqual(new Set([addr(cp1), addr(cp2)]));

  // 1. A change written through cp-2's API reaches sidecars on both replicas.
  const v1 = await put(cp2, route("to-reviews", "reviews", "reviews"));
  await until("change everywhere", () => fleet.every((s) => Number(s.client.version()) >= Number(v1) && s.client.snapshot()!.routes.some((r) => r.metadata.name === "to-reviews")));

  // 2. SIGKILL cp-1: its sidecars keep their config and move to cp-2.
  const moved = fleet.filter((s) => s.client.connectedTo() === addr(cp1));
  expect(moved.length).toBeGreaterThan(0);
  const before = new Map(moved.map((s) => [s, s.client.version()]));
  let lost = false;
  const watcher = setInterval(() => {
    for (const s of moved) if (!s.client.snapshot()?.routes.some((r) => r.metadata.name === "to-reviews")) lost = true;
  }, 5);
  const killedAt = Date.now();
  cp1.proc.kill("SIGKILL");
  await until("moved to cp-2", () => moved.every((s) => s.client.connectedTo() === addr(cp2)), 10_000);
  const failoverMs = Date.now() - killedAt;
  clearInterval(watcher);
  expect(lost).toBe(false);
  for (const s of moved) expect(Number(s.client.version())).toBeGreaterThanOrEqual(Number(before.get(s)));

  // 3. The next change reaches everyone through the surviving replica.
  const v2 = await put(cp2, route("to-web", "web", "web"));
  await until("second change everywhere", () => fleet.every((s) => Number(s.client.version()) >= Number(v2)));
  const list = await until("records on cp-2", async () => {
    const l = await apiGet<{ items: Array<{ instanceId: string; connectedTo: string; ackedVersion: string }> }>(cp2.api, ADMIN, "/api/v1/sidecars");
    return l.items.length === 6 && l.items.every((i) => i.connectedTo === "cp-2" && Number(i.ackedVersion) >= Number(v2)) ? l.items : undefined;
  }, 15_000);
  expect(list.map((i) => i.instanceId).sort()).toEqual(fleet.map((s) => s.client["opts"].node.instanceId).sort());
  console.log(JSON.stringify({ test: "push-failover", moved: moved.length, failoverMs }));
}, 60_000);
