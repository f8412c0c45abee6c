// Regression: a live sidecar's endpoint was pushed as removed (and re-added seconds later) when
// its lease was lost behind its back (etcd leader election) or when its config stream broke and
// it moved to another replica; peers with no other endpoint of the service then failed requests.
// Now a vanished endpoint stays in pushed config through a removal grace period, and only a
// deliberate deregistration (the sidecar half-closes its stream) removes it at once.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { caPlugin, initCaDir } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { createLogger } from "../../shared/log.js";
import type { Snapshot } from "../../shared/snapshot.js";
import type { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { useEtcd } from "../harness/etcd.js";
import { identityFor, until, xdsFor, type TestSidecar } from "./push-harness.js";

const etcd = useEtcd();
const ADMIN = "grace-admin-token";
const GRACE_MS = 2500;
let tmp: string;
let cps: ControlPlane[] = [];
const ids = new Map<string, WorkloadIdentity>();
const running: TestSidecar[] = [];
let caDir: string;

const addr = (cp: ControlPlane) => `127.0.0.1:${cp.grpcPort}`;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-grace-"));
  caDir = path.join(tmp, "ca");
  await initCaDir(caDir);
  const start = (id: string) =>
    startControlPlane({
      etcd: [etcd().endpoint],
      apiPort: 0,
      grpcPort: 0,
      dataDir: path.join(tmp, id),
      token: ADMIN,
      plugins: [caPlugin({ dir: caDir }), pushPlugin({ replicaId: id, debounceMs: 20, leaseTtlSeconds: 3, endpointRemovalGraceMs: GRACE_MS })],
      log: createLogger("test", { level: "error" }),
    });
  cps = await Promise.all([start("cp-1"), start("cp-2")]);
}, 40_000);

afterAll(async () => {
  for (const s of running) await s.client.stop();
  for (const wi of ids.values()) wi.stop();
  for (const cp of cps) await cp.close();
  await fs.rm(tmp, { recursive: true, force: true });
}, 30_000);

async function sidecar(service: string, instanceId: string, addresses: string[], inboundPort?: number): Promise<TestSidecar> {
  let wi = ids.get(service);
  if (!wi) ids.set(service, (wi = await identityFor({ apiPort: cps[0]!.apiPort, grpcPort: cps[0]!.grpcPort, admin: ADMIN, caDir, service })));
  const node = { service, instanceId, ...(inboundPort ? { address: "127.0.0.1", inboundPort } : {}) };
  const s = xdsFor(wi, { addresses, node });
  running.push(s);
  await s.client.start();
  return s;
}

/** `service`: a snapshot endpoints key, "<namespace>/<service>". */
const has = (snap: Snapshot | undefined, service: string, instanceId: string) => snap?.endpoints[service]?.some((e) => e.instanceId === instanceId) ?? false;

/** Applied snapshots from the first one that lists the endpoint: any later one without it is a pushed removal. */
function removalsSeen(observer: TestSidecar, service: string, instanceId: string): string[] {
  const first = observer.applied.findIndex((s) => has(s, service, instanceId));
  return observer.applied.slice(first).filter((s) => !has(s, service, instanceId)).map((s) => s.version);
}

/**
 * Lets the grace period run out (the scenario is time passing), then writes a marker route and
 * waits until `observer` applied it: every push before it, a removal included, has arrived.
 */
async function outlastGrace(observer: TestSidecar): Promise<void> {
  await new Promise((r) => setTimeout(r, GRACE_MS + 300));
  const cp = cps[cps.length - 1]!;
  const marker = await cp.store.put({ apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: `marker-${Date.now()}` }, spec: { hosts: ["marker"], rules: [{ backends: [{ service: "marker", weight: 1 }] }] } });
  const rev = Number(marker.metadata.resourceVersion);
  await until("observer applied the marker", () => observer.applied.some((s) => Number(s.version) >= rev) || undefined, 5000);
}

it("a lease lost behind the sidecar's back is written again and never pushed as a removal", async () => {
  const front = await sidecar("front", "front-1", [addr(cps[0]!)]);
  await sidecar("lease", "lease-1", [addr(cps[0]!)], 17001);
  await until("front sees lease-1", () => has(front.client.snapshot(), "default/lease", "lease-1"));
  const key = "/tsmesh/v1/endpoints/default/lease/lease-1";
  const kv = (await cps[0]!.store.etcd.get(key).exec()).kvs[0]!;
  await cps[0]!.store.etcd.leaseClient.leaseRevoke({ ID: kv.lease }); // what an expiry does
  await until("lease-1 written again", async () => ((await cps[0]!.store.etcd.get(key).exec()).kvs[0]?.lease !== kv.lease ? true : undefined), 5000);
  await outlastGrace(front);
  expect(removalsSeen(front, "default/lease", "lease-1")).toEqual([]);
  expect(has(front.client.snapshot(), "default/lease", "lease-1")).toBe(true);
}, 30_000);

it("a sidecar whose replica shuts down moves to the other one and is never pushed as removed", async () => {
  const [cp1, cp2] = cps as [ControlPlane, ControlPlane];
  const front = await sidecar("front", "front-2", [addr(cp2)]);
  const moving = await sidecar("moving", "moving-1", [addr(cp1), addr(cp2)], 17002);
  await until("moving-1 on cp-1", () => moving.client.connectedTo() === addr(cp1) || undefined);
  await until("front sees moving-1", () => has(front.client.snapshot(), "default/moving", "moving-1"));
  await cp1.close();
  cps = [cp2];
  await until("moving-1 on cp-2", () => moving.client.connectedTo() === addr(cp2) || undefined, 5000);
  await outlastGrace(front);
  expect(removalsSeen(front, "default/moving", "moving-1")).toEqual([]);
  expect(has(front.client.snapshot(), "default/moving", "moving-1")).toBe(true);
}, 30_000);

it("a draining sidecar is removed at once; one whose stream breaks only after the grace period", async () => {
  const cp = cps[cps.length - 1]!;
  const front = await sidecar("front", "front-3", [addr(cp)]);
  const drained = await sidecar("gone", "drained-1", [addr(cp)], 17003);
  const broken = await sidecar("gone", "broken-1", [addr(cp)], 17004);
  await until("front sees both", () => has(front.client.snapshot(), "default/gone", "drained-1") && has(front.client.snapshot(), "default/gone", "broken-1"));

  let t0 = Date.now();
  await drained.client.deregister();
  await until("drained-1 removed", () => !has(front.client.snapshot(), "default/gone", "drained-1") || undefined, GRACE_MS);
  expect(Date.now() - t0).toBeLessThan(GRACE_MS);

  t0 = Date.now();
  await broken.client.stop(); // cancels the stream, as a killed sidecar's connection would end
  await until("broken-1 removed", () => !has(front.client.snapshot(), "default/gone", "broken-1") || undefined, GRACE_MS + 5000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(GRACE_MS - 100);
}, 30_000);
