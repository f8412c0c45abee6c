// Workload certificate lifetime: the control plane's --cert-ttl (caPlugin defaultTtlMs) and
// MeshConfig spec.certificates.workloadTTL, which wins over it and is range-checked by the API.
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { createLogger } from "../../shared/log.js";
import { createCsr, generateKeyPair } from "../../shared/pki/index.js";
import { callSign } from "../../sidecar/identity/client.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
const ADMIN = "cert-ttl-admin";
const HOUR = 3_600_000;
let dir: string;
let cp: ControlPlane;

const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${cp.apiPort}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
};

const meshConfig = (certificates: unknown) => ({ apiVersion: "tsmesh.dev/v1", kind: "MeshConfig", metadata: { name: "default" }, spec: { certificates } });

/** A first certificate for `service`, as a sidecar gets it; returns its lifetime in ms. */
async function issuedLifetimeMs(service: string): Promise<number> {
  const token = (await api("POST", "/api/v1/tokens", { service, ttl: "5m" })).body.token as string;
  const { privateKeyPem } = generateKeyPair();
  const res = await callSign({
    address: `127.0.0.1:${cp.grpcPort}`,
    trustBundlePem: [fs.readFileSync(path.join(dir, "certs", "bundle.crt"), "utf8")],
    trustDomain: "cluster.local",
    csrPem: createCsr(privateKeyPem, `spiffe://cluster.local/ns/default/sa/${service}`),
    bootstrapToken: token,
  });
  const leaf = new X509Certificate(res.certChainPem[0]!);
  return Date.parse(leaf.validTo) - Date.now();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsmesh-cert-ttl-"));
  cp = await startControlPlane({
    etcd: [etcd().endpoint],
    apiPort: 0,
    grpcPort: 0,
    dataDir: dir,
    token: ADMIN,
    plugins: [caPlugin({ defaultTtlMs: 2 * HOUR })],
    log: createLogger("control-plane", { level: "error" }),
  });
});

afterAll(async () => {
  await cp?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("workload certificate lifetime", () => {
  it("MeshConfig spec.certificates.workloadTTL outside 10m..720h is refused with 400 and the field path, and changes nothing", async () => {
    for (const bad of ["60s", "9m", "721h", "1d", "soon", 3600]) {
      const res = await api("PUT", "/api/v1/meshconfig/default", meshConfig({ workloadTTL: bad }));
      expect(res.status, String(bad)).toBe(400);
      expect(res.body).toMatchObject({ field: "spec.certificates.workloadTTL" });
      expect(String(res.body.error)).toMatch(/10m|string/);
    }
    expect((await api("PUT", "/api/v1/meshconfig/default", meshConfig({ workloadTTLs: "1h" }))).body).toMatchObject({ field: expect.stringContaining("spec.certificates") });
    expect((await api("GET", "/api/v1/meshconfig/default")).status).toBe(404);
  });

  it("the issued certificate's lifetime follows the flag, then MeshConfig (which wins), then the flag again", async () => {
    const near = (ms: number, want: number) => expect(Math.abs(ms - want), `${ms} vs ${want}`).toBeLessThan(2 * 60_000);
    near(await issuedLifetimeMs("ttl-flag"), 2 * HOUR);

    expect((await api("PUT", "/api/v1/meshconfig/default", meshConfig({ workloadTTL: "30m" }))).status).toBe(201);
    near(await issuedLifetimeMs("ttl-mesh-short"), 30 * 60_000);
    // Longer than the flag and the default cap: MeshConfig raises the cap to itself.
    expect((await api("PUT", "/api/v1/meshconfig/default", meshConfig({ workloadTTL: "72h" }))).status).toBe(200);
    near(await issuedLifetimeMs("ttl-mesh-long"), 72 * HOUR);

    expect((await api("DELETE", "/api/v1/meshconfig/default")).status).toBeLessThan(300);
    near(await issuedLifetimeMs("ttl-flag-again"), 2 * HOUR);
  });
});
