// Config push through a real startControlPlane (CA + push plugins) on a real etcd, with xds
// clients holding certificates from the CA: a change reaches every sidecar, ACK/NACK bookkeeping
// in /api/v1/sidecars, endpoint registration, debounce, last-known-good across a restart.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caPlugin } from "../../control-plane/ca/plugin.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { createLogger } from "../../shared/log.js";
import { freePort } from "../../shared/net/free-port.js";
import { loadMeshProto } from "../../shared/proto/load.js";
import type { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { XdsClient } from "../../sidecar/xds/index.js";
import { useEtcd } from "../harness/etcd.js";
import { apiGet, identityFor, route, until, xdsFor, type TestSidecar } from "./push-harness.js";

const etcd = useEtcd();
const ADMIN = "push-admin-token";
let cp: ControlPlane;
let dataDir: string;
const ids = new Map<string, WorkloadIdentity>();
const clients: XdsClient[] = [];

async function id(service: string): Promise<WorkloadIdentity> {
  let wi = ids.get(service);
  if (!wi) ids.set(service, (wi = await identityFor({ apiPort: cp.apiPort, grpcPort: cp.grpcPort, admin: ADMIN, caDir: path.join(dataDir, "certs"), service })));
  return wi;
}

async function sidecar(service: string, instanceId: string, extra: Partial<Parameters<typeof xdsFor>[1]> = {}): Promise<TestSidecar> {
  const s = xdsFor(await id(service), { addresses: [`127.0.0.1:${cp.grpcPort}`], node: { service, instanceId }, ...extra });
  clients.push(s.client);
  await s.client.start();
  return s;
}

interface SidecarList {
  items: Array<{ instanceId: string; service: string; ackedVersion: string; nackedVersion?: string; lastError?: string; connectedTo: string }>;
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-push-"));
  cp = await startControlPlane({
    etcd: [etcd().endpoint],
    apiPort: 0,
    grpcPort: 0,
    dataDir,
    token: ADMIN,
    plugins: [caPlugin(), pushPlugin({ replicaId: "replica-a", leaseTtlSeconds: 3 })],
    log: createLogger("test", { level: "error" }),
  });
});

afterAll(async () => {
  for (const c of clients) await c.stop();
  for (const wi of ids.values()) wi.stop();
  await cp?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("config push", () => {
  it("a route change reaches every connected sidecar, and /api/v1/sidecars shows the acked version", async () => {
    const fleet = await Promise.all([sidecar("web", "web-1"), sidecar("web", "web-2"), sidecar("reviews", "reviews-1")]);
    await until("first snapshot everywhere", () => fleet.every((s) => s.applied.length > 0));
    // Every snapshot carries the trust bundle and mesh config defaults.
    expect(fleet[0]!.applied[0]!.trustBundle.length).toBeGreaterThan(0);
    expect(fleet[0]!.applied[0]!.meshConfig.mtls).toBe("STRICT");

    const stored = await cp.store.put(route("to-reviews", "reviews", "reviews-v2"));
    const version = stored.metadata.resourceVersion!;
    await until("route everywhere", () => fleet.every((s) => s.client.snapshot()?.routes.some((r) => r.metadata.name === "to-reviews")));
    for (const s of fleet) {
      const snap = s.client.snapshot()!;
      expect(Number(snap.version)).toBeGreaterThanOrEqual(Number(version));
      // Consistent: the backend has an endpoints entry even though no instance is registered.
      expect(snap.endpoints["default/reviews-v2"]).toEqual([]);
    }
    const list = await until("acked versions recorded", async () => {
      const l = await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars");
      const mine = l.items.filter((i) => ["web-1", "web-2", "reviews-1"].includes(i.instanceId));
      return mine.length === 3 && mine.every((i) => Number(i.ackedVersion) >= Number(version)) ? mine : undefined;
    });
    expect(list.every((i) => i.connectedTo === "replica-a")).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${cp.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/^tsmesh_cp_pushes_total\{result="ack"\} \d+$/m);
    expect(metrics).toMatch(/^tsmesh_cp_connected_sidecars [1-9]\d*$/m);
    expect(metrics).toMatch(/^tsmesh_cp_push_latency_seconds_count [1-9]\d*$/m);
  });

  it("refuses a stream whose certificate names another service, and one without a certificate", async () => {
    const s = xdsFor(await id("web"), { addresses: [`127.0.0.1:${cp.grpcPort}`], node: { service: "payments", instanceId: "impostor" } });
    const reasons: string[] = [];
    s.client.on("disconnected", (_a, r) => reasons.push(r));
    clients.push(s.client);
    await s.client.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(s.responses).toEqual([]);
    expect(s.client.connectedTo()).toBeUndefined();
    await s.client.stop();

    // Server-authenticated TLS only: the stream is refused with UNAUTHENTICATED.
    const { Discovery } = loadMeshProto();
    const bundle = (await id("web")).current()!.trustBundlePem.join("");
    const raw = new Discovery(`127.0.0.1:${cp.grpcPort}`, grpc.credentials.createSsl(Buffer.from(bundle), null, null, { checkServerIdentity: () => undefined })) as unknown as {
      Stream(): grpc.ClientDuplexStream<unknown, unknown>;
      close(): void;
    };
    const call = raw.Stream();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      call.on("error", resolve);
      call.on("data", () => {});
      call.write({ node: { service: "web", instanceId: "no-cert" }, versionInfo: "", responseNonce: "", errorDetail: "" });
    });
    raw.close();
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain("TSMESH_ERR_NO_IDENTITY");
    const l = await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars");
    expect(l.items.some((i) => i.instanceId === "impostor" || i.instanceId === "no-cert")).toBe(false);
  });

  it("another namespace can impersonate a service (regression): an evil/a certificate registers only as evil/a, and may not claim default", async () => {
    const evil = await identityFor({ apiPort: cp.apiPort, grpcPort: cp.grpcPort, admin: ADMIN, caDir: path.join(dataDir, "certs"), service: "imp", namespace: "evil" });
    ids.set("evil/imp", evil);
    const good = await sidecar("imp", "imp-good", { node: { service: "imp", instanceId: "imp-good", address: "127.0.0.1", inboundPort: 16101 } });

    // Claiming the default namespace with an evil certificate: refused, nothing registered.
    const lines: string[] = [];
    const log = createLogger("test", { level: "warn", write: (l) => lines.push(l) });
    const claim = xdsFor(evil, { addresses: [`127.0.0.1:${cp.grpcPort}`], node: { service: "imp", namespace: "default", instanceId: "imp-claim", address: "127.0.0.1", inboundPort: 16102 }, log });
    clients.push(claim.client);
    await claim.client.start();
    await until("claim refused", () => lines.some((l) => l.includes("TSMESH_ERR_IDENTITY_MISMATCH") && l.includes("spiffe://cluster.local/ns/evil/sa/imp")));
    expect(claim.responses).toEqual([]);
    await claim.client.stop();

    // Without a claim, the stream is evil/imp: its endpoint is filed there, never under default/imp.
    const other = xdsFor(evil, { addresses: [`127.0.0.1:${cp.grpcPort}`], node: { service: "imp", instanceId: "imp-evil", address: "127.0.0.1", inboundPort: 16103 } });
    clients.push(other.client);
    await other.client.start();
    const snap = await until("evil endpoint filed under evil/imp", () => {
      const s = good.client.snapshot();
      return s?.endpoints["evil/imp"]?.some((e) => e.instanceId === "imp-evil") ? s : undefined;
    });
    expect(snap.endpoints["default/imp"]!.map((e) => e.instanceId)).toEqual(["imp-good"]);
    const eps = await apiGet<{ items: Array<{ instanceId: string; namespace: string }> }>(cp.apiPort, ADMIN, "/api/v1/endpoints?service=evil/imp");
    expect(eps.items).toMatchObject([{ instanceId: "imp-evil", namespace: "evil" }]);
    const sidecars = await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars");
    expect(sidecars.items.some((i) => i.instanceId === "imp-claim")).toBe(false);
    await other.client.stop();
    await good.client.stop();
  });

  it("a NACKed version leaves the previous config in force and is not resent", async () => {
    const s = await sidecar("ratings", "ratings-1", {
      apply: (snap) => {
        if (snap.routes.some((r) => r.metadata.name === "poison")) throw new Error("refusing poison route");
      },
    });
    await until("first snapshot", () => s.applied.length > 0);
    const good = s.client.version();
    const poison = await cp.store.put(route("poison", "ratings", "ratings"));
    const bad = await until("bad version received", () => s.responses.find((v) => Number(v) >= Number(poison.metadata.resourceVersion)));
    expect(s.client.version()).toBe(good);
    const rec = await until("NACK recorded", async () =>
      (await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars")).items.find((i) => i.instanceId === "ratings-1" && i.nackedVersion === bad),
    );
    expect(rec.ackedVersion).toBe(good);
    expect(rec.lastError).toContain("refusing poison route");
    await new Promise((r) => setTimeout(r, 400));
    expect(s.responses.filter((v) => v === bad)).toHaveLength(1);

    // Removing the poison makes a new version, which is sent and accepted.
    await cp.store.delete("HTTPRoute", "poison");
    await until("next version applied", () => Number(s.client.version()) > Number(bad) && !s.client.snapshot()?.routes.some((r) => r.metadata.name === "poison"));
    expect(s.responses.filter((v) => v === bad)).toHaveLength(1);
    const after = await until("ack recorded, NACK cleared", async () =>
      (await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars")).items.find((i) => i.instanceId === "ratings-1" && i.ackedVersion === s.client.version()),
    );
    expect(after.nackedVersion).toBeUndefined();
  });

  it("registers the sidecar's endpoint while its stream is up and removes it with the stream", async () => {
    const s = await sidecar("details", "details-1", { node: { service: "details", instanceId: "details-1", address: "127.0.0.1", inboundPort: 16006 } });
    await until("endpoint in every snapshot", () => s.client.snapshot()?.endpoints["default/details"]?.some((e) => e.instanceId === "details-1" && e.port === 16006));
    // The namespace comes from the certificate the stream proved, so peers check the right SPIFFE ID.
    expect(s.client.snapshot()?.endpoints["default/details"]?.find((e) => e.instanceId === "details-1")?.namespace).toBe("default");
    const eps = await apiGet<{ items: Array<{ instanceId: string }> }>(cp.apiPort, ADMIN, "/api/v1/endpoints?service=details");
    expect(eps.items.map((e) => e.instanceId)).toEqual(["details-1"]);
    await s.client.stop();
    await until("endpoint gone", async () => ((await apiGet<{ items: unknown[] }>(cp.apiPort, ADMIN, "/api/v1/endpoints?service=details")).items.length === 0 ? true : undefined));
    await until("status record gone", async () =>
      (await apiGet<SidecarList>(cp.apiPort, ADMIN, "/api/v1/sidecars")).items.some((i) => i.instanceId === "details-1") ? undefined : true,
    );
  });

  it("coalesces a burst of writes into few pushes", async () => {
    const s = await sidecar("burst", "burst-1");
    await until("first snapshot", () => s.applied.length > 0);
    const before = s.applied.length;
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(cp.store.put(route(`burst-${i}`, "burst", "burst")));
    await Promise.all(writes);
    await until("all 20 routes", () => s.client.snapshot()!.routes.filter((r) => r.metadata.name.startsWith("burst-")).length === 20);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.applied.length - before).toBeLessThanOrEqual(4);
  });

  it("a restarted client serves its last-known-good config while no control plane is reachable", async () => {
    const cacheFile = path.join(dataDir, "lkg", "inventory.json");
    const first = await sidecar("inventory", "inventory-1", { cacheFile });
    await until("snapshot cached", () => first.applied.length > 0);
    const version = first.client.version();
    await until("file written", async () => (await fs.readFile(cacheFile, "utf8").catch(() => "")).includes(`"version":"${version}"`));
    await first.client.stop();
    expect((await fs.readdir(path.dirname(cacheFile))).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const dead = await freePort();
    const restarted = await sidecar("inventory", "inventory-1", { cacheFile, addresses: [`127.0.0.1:${dead}`] });
    expect(restarted.applied.map((s) => s.version)).toEqual([version]);
    expect(restarted.client.snapshot()?.routes.length).toBe(first.client.snapshot()?.routes.length);
    await new Promise((r) => setTimeout(r, 300));
    expect(restarted.client.connectedTo()).toBeUndefined();
    expect(restarted.client.version()).toBe(version);
  });
});
