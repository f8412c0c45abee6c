import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEtcd } from "../harness/etcd.js";
import { ConflictError, StoreUnavailableError, createStore, kindPrefix, parseKey, sha256Hex, tokenKey, type Store, type WatchEvent } from "../../control-plane/store/index.js";
import type { HTTPRoute } from "../../shared/schema/kinds.js";

const etcd = useEtcd();
let store: Store;
beforeAll(() => {
  store = createStore({ endpoints: [etcd().endpoint], callTimeoutMs: 1000 });
});
afterAll(() => store.close());

const route = (name: string, backend = "b"): HTTPRoute => ({
  apiVersion: "tsmesh.dev/v1",
  kind: "HTTPRoute",
  metadata: { name },
  spec: { hosts: ["a"], rules: [{ backends: [{ service: backend, weight: 1 }] }] },
});

const until = async (cond: () => boolean | Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${ms} ms`);
};

describe("store", () => {
  it("creates, reads, lists, updates and deletes a resource", async () => {
    const created = await store.put(route("r1"));
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    const got = await store.get("HTTPRoute", "r1");
    expect(got).toEqual(created);

    const same = await store.put(route("r1"));
    expect(same.metadata.generation).toBe(1); // spec unchanged
    expect(same.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
    const changed = await store.put(route("r1", "c"));
    expect(changed.metadata.generation).toBe(2);

    await store.put(route("r2"));
    const { items, revision } = await store.list("HTTPRoute");
    expect(items.map((r) => r.metadata.name)).toEqual(["r1", "r2"]);
    expect(revision).toBeGreaterThanOrEqual(Number(changed.metadata.resourceVersion));

    expect(await store.delete("HTTPRoute", "r2")).toBe(true);
    expect(await store.delete("HTTPRoute", "r2")).toBe(false);
    expect(await store.get("HTTPRoute", "r2")).toBeUndefined();
  });

  it("rejects a stale resourceVersion with ConflictError and changes nothing", async () => {
    const v1 = await store.put(route("cas"));
    const v2 = await store.put({ ...route("cas", "x"), metadata: { name: "cas", resourceVersion: v1.metadata.resourceVersion } });
    await expect(store.put({ ...route("cas", "y"), metadata: { name: "cas", resourceVersion: v1.metadata.resourceVersion } })).rejects.toBeInstanceOf(ConflictError);
    await expect(store.delete("HTTPRoute", "cas", v1.metadata.resourceVersion)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.get("HTTPRoute", "cas"))?.spec.rules[0]?.backends[0]?.service).toBe("x");
    // Creating with a resourceVersion for a missing object is a conflict too.
    await expect(store.put({ ...route("nope"), metadata: { name: "nope", resourceVersion: "5" } })).rejects.toBeInstanceOf(ConflictError);
    expect(await store.delete("HTTPRoute", "cas", v2.metadata.resourceVersion)).toBe(true);
  });

  it("watchPrefix delivers changes from a past revision and resumes after etcd restarts", async () => {
    const start = await store.list("DestinationPolicy");
    const events: WatchEvent[] = [];
    const put = (name: string) =>
      store.put({ apiVersion: "tsmesh.dev/v1", kind: "DestinationPolicy", metadata: { name }, spec: { service: name, loadBalancer: "round-robin" } });
    await put("p1"); // before the watch starts: replayed from start.revision + 1
    const handle = store.watchPrefix(kindPrefix("DestinationPolicy"), start.revision + 1, (ev) => events.push(ev));
    await put("p2");
    await until(() => events.length === 2, 5000);

    await etcd().stop();
    await expect(put("down")).rejects.toBeInstanceOf(StoreUnavailableError);
    await etcd().start();
    // Written after the restart, perhaps before the watch reconnected: must still arrive once.
    await until(async () => {
      try {
        await put("p3");
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    await store.delete("DestinationPolicy", "p1");
    await until(() => events.length === 4, 10_000);
    await handle.close();
    const names = events.map((e) => {
      const k = "key" in e ? parseKey(e.key) : undefined;
      return `${e.type}:${k?.type === "resource" ? k.name : "?"}`;
    });
    expect(names).toEqual([
      "put:p1",
      "put:p2",
      "put:p3",
      "delete:p1",
    ]);
    const revs = events.map((e) => (e as { modRevision: number }).modRevision);
    expect([...revs].sort((a, b) => a - b)).toEqual(revs);
  });

  it("watchPrefix reports compaction so the caller can resync", async () => {
    const r1 = await store.put(route("compact-1"));
    await store.put(route("compact-2"));
    const r3 = await store.put(route("compact-3"));
    await store.etcd.kv.compact({ revision: r3.metadata.resourceVersion! });
    const events: WatchEvent[] = [];
    const h = store.watchPrefix(kindPrefix("HTTPRoute"), Number(r1.metadata.resourceVersion), (ev) => events.push(ev));
    await until(() => events.length > 0, 5000);
    expect(events[0]?.type).toBe("compacted");
    await h.close();
  });

  it("an endpoint stays while its owner heartbeats and vanishes within its TTL when the owner dies", async () => {
    const owner = createStore({ endpoints: [etcd().endpoint], callTimeoutMs: 1000 });
    const rec = { service: "svc", instanceId: "i-1", address: "127.0.0.1", port: 1234, labels: {} };
    await owner.registerEndpoint(rec, 2);
    await new Promise((r) => setTimeout(r, 3500)); // longer than the TTL: kept alive by heartbeats
    expect((await store.listEndpoints("svc")).items).toEqual([rec]);
    owner.close(); // the owner "crashes": no revoke, no more heartbeats
    const died = Date.now();
    await until(async () => (await store.listEndpoints("svc")).items.length === 0, 5000);
    expect(Date.now() - died).toBeLessThan(3500);

    const reg = await store.registerEndpoint({ ...rec, instanceId: "i-2" }, 10);
    expect((await store.listEndpoints()).items).toHaveLength(1);
    await reg.close(); // revoke: gone at once
    expect((await store.listEndpoints()).items).toHaveLength(0);
  });

  it("re-registers an endpoint whose lease vanished behind its back", async () => {
    const rec = { service: "again", instanceId: "i-1", address: "127.0.0.1", port: 1, labels: {} };
    const reg = await store.registerEndpoint(rec, 3);
    const kv = (await store.etcd.get(reg.key).exec()).kvs[0]!;
    await store.etcd.leaseClient.leaseRevoke({ ID: kv.lease });
    expect((await store.listEndpoints("again")).items).toHaveLength(0);
    await until(async () => (await store.listEndpoints("again")).items.length === 1, 4000); // next heartbeat
    await reg.close();
    expect((await store.listEndpoints("again")).items).toHaveLength(0);
  });

  it("stores only the hash of a bootstrap token, under a lease", async () => {
    const t = await store.createBootstrapToken({ service: "web", ttlMs: 2000 });
    expect(Buffer.from(t.token, "base64url")).toHaveLength(32);
    const raw = await store.etcd.get(tokenKey(sha256Hex(t.token))).json();
    expect(raw).toEqual({ service: "web", namespace: "default", expiresAt: t.expiresAt });
    const all = await store.range("/tsmesh/v1/");
    expect(JSON.stringify(all)).not.toContain(t.token);
    await until(async () => (await store.etcd.get(tokenKey(sha256Hex(t.token))).string()) === null, 5000);
  });

  it("fails fast with StoreUnavailableError when etcd is down", async () => {
    const dead = createStore({ endpoints: ["http://127.0.0.1:1"], callTimeoutMs: 500 });
    const t0 = Date.now();
    await expect(dead.get("HTTPRoute", "x")).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(dead.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - t0).toBeLessThan(2000);
    dead.close();
  });
});
