// Regression, "another namespace can impersonate a service": a workload holding a valid mesh
// certificate for spiffe://cluster.local/ns/evil/sa/a registers with the control plane as service
// a. It must get none of b's requests for `a` (default/a), and an AuthorizationPolicy
// `from.services: [a]` must not admit it. Cross-namespace calls name the namespace: `a.other`
// reaches other/a over mTLS, verified as spiffe://cluster.local/ns/other/sa/a. Real control
// plane (CA + push) on a real etcd, real sidecar processes, config by push.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { createLogger } from "../../shared/log.js";
import type { Snapshot } from "../../shared/snapshot.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { useEtcd } from "../harness/etcd.js";
import { startSidecarProcess, type SidecarProcess } from "../harness/processes.js";

const etcd = useEtcd();
const ADMIN = "namespace-e2e-admin-token";
let dir: string;
let cp: ControlPlane;
const apps: Record<"a" | "evil" | "other", TestApp | undefined> = { a: undefined, evil: undefined, other: undefined };
const sidecars: SidecarProcess[] = [];
let b: SidecarProcess;
let aDefault: SidecarProcess;
let aEvil: SidecarProcess;

async function api(method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${cp.apiPort}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A sidecar of `service` in `namespace`, certificate from the CA (token bound to both), config by push. */
async function meshSidecar(service: string, namespace: string, appPort: number): Promise<SidecarProcess> {
  const res = await api("POST", "/api/v1/tokens", { service, namespace, ttl: "5m" });
  expect(res.status).toBe(201);
  const { token } = (await res.json()) as { token: string };
  const s = await startSidecarProcess({
    service,
    appPort,
    dir,
    extraArgs: ["--control-plane", `127.0.0.1:${cp.grpcPort}`, "--token", token, "--ca-bundle", path.join(dir, "certs", "bundle.crt"), "--namespace", namespace],
  });
  sidecars.push(s);
  return s;
}

async function pushed(s: SidecarProcess): Promise<Snapshot | undefined> {
  const dump = (await (await fetch(`http://127.0.0.1:${s.admin}/config_dump`)).json()) as { snapshot: Snapshot | null };
  return dump.snapshot ?? undefined;
}

/** Polls `fn` every 100 ms until it returns a value, for at most `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function viaB(host: string, p = "/", from: SidecarProcess = b): Promise<{ status: number; body?: EchoReply; code?: string }> {
  const res = await request(`http://127.0.0.1:${from.outbound}${p}`, { headers: { host } });
  const code = res.headers["x-tsmesh-error"] as string | undefined;
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { status: res.statusCode, code };
  }
  return { status: 200, body: (await res.body.json()) as EchoReply };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-namespaces-"));
  cp = await startControlPlane({
    etcd: [etcd().endpoint],
    apiPort: 0,
    grpcPort: 0,
    dataDir: dir,
    token: ADMIN,
    plugins: [caPlugin(), pushPlugin()],
    log: createLogger("test", { level: "error" }),
  });
  [apps.a, apps.evil, apps.other] = await Promise.all([startEchoApp({ name: "a" }), startEchoApp({ name: "evil-a" }), startEchoApp({ name: "other-a" })]);
  [aDefault, aEvil] = await Promise.all([meshSidecar("a", "default", apps.a!.port), meshSidecar("a", "evil", apps.evil!.port), meshSidecar("a", "other", apps.other!.port)]);
  b = await meshSidecar("b", "default", 1);
  // All three registrations reach b's pushed config (etcd watch + push debounce): poll, bounded.
  await until("three instances of a in b's config", async () => {
    // Counted by record, whatever the keys, so the test also runs against a registry without namespaces.
    const records = Object.values((await pushed(b))?.endpoints ?? {}).flat();
    return records.filter((e) => e.service === "a").length === 3 ? true : undefined;
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await Promise.all(Object.values(apps).map((a) => a?.close()));
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("another namespace can impersonate a service", () => {
  it("an evil/a workload registered as a gets none of b's 20 requests to a", async () => {
    const evilBefore = apps.evil!.count();
    const answeredBy: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await viaB("a", `/req-${i}`);
      expect(r.status).toBe(200);
      answeredBy.push(r.body!.app);
    }
    expect(answeredBy).toEqual(Array(20).fill("a"));
    expect(apps.evil!.count()).toBe(evilBefore);
    const snap = (await pushed(b))!;
    expect(snap.endpoints["default/a"]!.map((e) => e.namespace)).toEqual(["default"]);
  });

  it("a.other reaches other/a over mTLS, each end proving its namespace", async () => {
    const r = await viaB("a.other", "/cross");
    expect(r.status).toBe(200);
    expect(r.body!.app).toBe("other-a");
    expect(r.body!.headers["x-forwarded-client-cert"]).toBe("By=spiffe://cluster.local/ns/other/sa/a;URI=spiffe://cluster.local/ns/default/sa/b");
    expect((await viaB("a.other.svc.cluster.local")).body?.app).toBe("other-a");
    const metrics = await (await fetch(`http://127.0.0.1:${b.admin}/metrics`)).text();
    expect(metrics).toMatch(/tsmesh_requests_total\{direction="outbound",source="default\/b",destination="other\/a",route="default",code="200"\} [1-9]/);
  });

  it("from.services [b] in namespace other means other/b and refuses default/b; from.namespaces [default] admits it", async () => {
    const policy = (rules: unknown[]) => ({ apiVersion: "tsmesh.dev/v1", kind: "AuthorizationPolicy", metadata: { name: "other-a-callers", namespace: "other" }, spec: { service: "a", rules } });
    expect((await api("PUT", "/api/v1/authz/other-a-callers", policy([{ from: { services: ["b"] } }]))).status).toBeLessThan(300);
    const refused = await until("policy applied at other/a", async () => {
      const r = await viaB("a.other", "/authz");
      return r.status === 403 ? r : undefined;
    });
    expect(refused.code).toBe("TSMESH_ERR_FORBIDDEN");
    // The policy selects other/a only: default/a still answers b.
    expect((await viaB("a")).status).toBe(200);

    const current = (await (await api("GET", "/api/v1/authz/other-a-callers")).json()) as { metadata: { resourceVersion: string } };
    const next = policy([{ from: { namespaces: ["default"] } }]);
    const put = await api("PUT", "/api/v1/authz/other-a-callers", { ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } });
    expect(put.status).toBeLessThan(300);
    const admitted = await until("from.namespaces applied", async () => {
      const r = await viaB("a.other", "/authz");
      return r.status === 200 ? r : undefined;
    });
    expect(admitted.body!.app).toBe("other-a");
  });

  it("from.services [default/a] admits the default/a workload and refuses the evil/a one, with real certificates", async () => {
    const current = (await (await api("GET", "/api/v1/authz/other-a-callers")).json()) as { metadata: { resourceVersion: string } };
    const put = await api("PUT", "/api/v1/authz/other-a-callers", {
      apiVersion: "tsmesh.dev/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "other-a-callers", namespace: "other", resourceVersion: current.metadata.resourceVersion },
      spec: { service: "a", rules: [{ from: { services: ["default/a"] } }] },
    });
    expect(put.status).toBeLessThan(300);
    await until("policy applied at other/a", async () => ((await viaB("a.other", "/authz")).status === 403 ? true : undefined));
    const evil = await viaB("a.other", "/from-evil", aEvil);
    expect(evil).toMatchObject({ status: 403, code: "TSMESH_ERR_FORBIDDEN" });
    const good = await viaB("a.other", "/from-default", aDefault);
    expect(good.status).toBe(200);
    expect(good.body!.headers["x-forwarded-client-cert"]).toBe("By=spiffe://cluster.local/ns/other/sa/a;URI=spiffe://cluster.local/ns/default/sa/a");
  });
});
