// Regression (issue 12): kill -9 of the etcd leader let live sidecars' endpoint leases expire;
// their registrations were deleted and re-created seconds later, and a front sidecar whose
// config lost every endpoint of `back` failed requests (502 marked egress). Real processes: a
// 3-member etcd on loopback, two `tsmesh control-plane` replicas on all three members, two
// `back` sidecars and a `front` one; the leader is killed under steady load. Expected: no failed
// request and no endpoint registration deleted, through the election and three lease TTLs after.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { initCaDir } from "../../control-plane/ca/index.js";
import { createStore, type Store } from "../../control-plane/store/index.js";
import { ENDPOINTS_PREFIX } from "../../control-plane/store/keys.js";
import { startEchoApp, type TestApp } from "../harness/apps.js";
import { startControlPlaneProcess, startJoinedSidecar, type ControlPlaneProcess } from "../harness/control-plane.js";
import { startEtcdCluster, type EtcdCluster } from "../harness/etcd-cluster.js";
import { startLoad } from "../harness/load.js";
import type { SidecarProcess } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

const ADMIN = "leader-kill-admin-token";
const TTL_SECONDS = 3;
let tmp: string;
let caDir: string;
let cluster: EtcdCluster | undefined;
let app: TestApp;
let store: Store | undefined;
const cps: ControlPlaneProcess[] = [];
const sidecars: SidecarProcess[] = [];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-leader-kill-"));
  caDir = path.join(tmp, "ca");
  await initCaDir(caDir);
  cluster = await startEtcdCluster(3);
  const env = { TSMESH_ENDPOINT_TTL_SECONDS: String(TTL_SECONDS) };
  cps.push(...(await Promise.all(["cp-1", "cp-2"].map((id) => startControlPlaneProcess({ id, etcd: cluster!.endpoints, dir: tmp, caDir, admin: ADMIN, env })))));
  app = await startEchoApp({ name: "back" });
  const join = (service: string, appPort: number, order: ControlPlaneProcess[]) => startJoinedSidecar(order, { service, appPort, dir: tmp, admin: ADMIN, caDir });
  const [cp1, cp2] = cps as [ControlPlaneProcess, ControlPlaneProcess];
  sidecars.push(...(await Promise.all([join("back", app.port, [cp1, cp2]), join("back", app.port, [cp2, cp1]), join("front", 1, [cp1, cp2])])));
}, 90_000);

afterAll(async () => {
  store?.close();
  await Promise.all(sidecars.map((s) => s.stop("SIGKILL")));
  await Promise.all(cps.map((cp) => cp.stop()));
  await cluster?.destroy();
  await app?.close();
  await fs.rm(tmp, { recursive: true, force: true });
}, 30_000);

it("killing the etcd leader under load fails no request and deletes no endpoint registration", async () => {
  const front = sidecars[2]!;
  const endpointsOfBack = async () =>
    ((await (await fetch(`http://127.0.0.1:${front.admin}/config_dump`)).json()) as { snapshot: { endpoints: Record<string, unknown[]> } | null }).snapshot?.endpoints["default/back"]?.length ?? 0;
  await until("front has both back endpoints", async () => ((await endpointsOfBack()) === 2 ? true : undefined), 20_000, 100);

  // Every delete under the endpoints prefix, across the leader's death (the watch resumes).
  store = createStore({ endpoints: cluster!.endpoints, callTimeoutMs: 1000 });
  const { revision } = await store.range(ENDPOINTS_PREFIX);
  const deleted: string[] = [];
  store.watchPrefix(ENDPOINTS_PREFIX, revision + 1, (ev) => {
    if (ev.type === "delete") deleted.push(ev.key);
  });

  const leader = await cluster!.leader();
  let killedAt = 0;
  // Through the election and 3 TTLs after it: long enough for any lost lease to expire.
  const load = startLoad({ outbound: front.outbound, host: "back", workers: 4, paceMs: 5, maxRequests: 6000, maxMs: 40_000, stop: () => killedAt > 0 && Date.now() > killedAt + 3 * TTL_SECONDS * 1000 + 1000 });
  await until("load under way", () => load.sent() >= 200 || undefined, 10_000);
  await cluster!.kill(leader);
  killedAt = Date.now();
  const next = await cluster!.leader(15_000);
  const electedMs = Date.now() - killedAt;
  const result = await load.done;

  console.log(JSON.stringify({ test: "registry-etcd-leader-kill", killed: leader.name, newLeader: next.name, electedMs, sent: result.sent, failed: result.failures.length, deleted }));
  expect(next.name).not.toBe(leader.name);
  expect(result.failures).toEqual([]);
  expect(deleted).toEqual([]);
  expect(result.sent).toBeGreaterThan(500);
}, 90_000);
