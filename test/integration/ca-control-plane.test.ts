// The CA plugged into a real `startControlPlane`: token from the REST API, certificate over the
// TLS gRPC port, renewal over mTLS, metrics on the API port.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { loadBundle } from "../../control-plane/ca/index.js";
import { createIssuer, createTrustAnchor, splitPemCerts, verifyWorkloadChain } from "../../shared/pki/index.js";
import * as grpc from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { caPlugin } from "../../control-plane/ca/plugin.js";
import { CaMaterialSlot } from "../../control-plane/ca/material-slot.js";
import type { ControlPlaneContext } from "../../control-plane/plugins.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { createLogger } from "../../shared/log.js";
import { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
const ADMIN = "ca-admin-token";
let cp: ControlPlane;
let dataDir: string;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cacp-"));
  cp = await startControlPlane({
    etcd: [etcd().endpoint],
    apiPort: 0,
    grpcPort: 0,
    dataDir,
    token: ADMIN,
    plugins: [caPlugin({ reloadMs: 200 })],
    log: createLogger("test", { level: "error" }),
  });
});

afterAll(async () => {
  await cp?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

it("a sidecar gets and renews its certificate with a token from POST /api/v1/tokens", async () => {
  // No CA dir was given: the plugin created a development CA with 0600 keys in <dataDir>/certs.
  const certs = path.join(dataDir, "certs");
  expect((await fs.stat(path.join(certs, "issuer.key"))).mode & 0o777).toBe(0o600);
  const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ service: "reviews", ttl: "5m" }),
  });
  expect(res.status).toBe(201);
  const { token } = (await res.json()) as { token: string };

  const wi = new WorkloadIdentity({
    service: "reviews",
    controlPlane: `127.0.0.1:${cp.grpcPort}`,
    trustBundlePem: await loadBundle(path.join(certs, "bundle.crt")),
    token,
  });
  try {
    const first = await wi.start();
    expect(first.spiffeId).toBe("spiffe://cluster.local/ns/default/sa/reviews");
    // 24 h by default.
    expect(first.notAfter.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    const second = await wi.renew();
    expect(second.serial).not.toBe(first.serial);
    const metrics = await (await fetch(`http://127.0.0.1:${cp.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/^tsmesh_cp_certs_issued_total 2$/m);
  } finally {
    wi.stop();
  }
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

it("rotates the trust anchor and the issuer without a failed renewal", async () => {
  const certs = path.join(dataDir, "certs");
  const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ service: "ratings" }),
  });
  const { token } = (await res.json()) as { token: string };
  const oldAnchor = await fs.readFile(path.join(certs, "ca.crt"), "utf8");
  const wi = new WorkloadIdentity({ service: "ratings", controlPlane: `127.0.0.1:${cp.grpcPort}`, trustBundlePem: [oldAnchor], token });
  try {
    const first = await wi.start();
    expect(first.trustBundlePem).toHaveLength(1);

    // 1. A new anchor joins the bundle; sidecars learn it with their next certificate.
    const next = createTrustAnchor({ commonName: "next anchor", validityMs: 3600_000 });
    const nextIssuer = createIssuer(next, { commonName: "next issuer", validityMs: 3600_000 });
    await fs.mkdir(path.join(certs, "bundle.d"));
    await fs.writeFile(path.join(certs, "bundle.d", "next.crt"), next.certPem);
    await until("bundle with both anchors", async () => ((await wi.renew()).trustBundlePem.length === 2 ? true : undefined));

    // 2. Switch the issuer; renewals with certificates from the old issuer keep working.
    await fs.writeFile(path.join(certs, "issuer.key.tmp"), nextIssuer.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(certs, "issuer.crt.tmp"), nextIssuer.certPem);
    await fs.rename(path.join(certs, "issuer.key.tmp"), path.join(certs, "issuer.key"));
    await fs.rename(path.join(certs, "issuer.crt.tmp"), path.join(certs, "issuer.crt"));
    const rotated = await until("a certificate from the new issuer", async () => {
      const s = await wi.renew();
      const issuedBy = new X509Certificate(splitPemCerts(s.chainPem)[1]!);
      return issuedBy.fingerprint256 === new X509Certificate(nextIssuer.certPem).fingerprint256 ? s : undefined;
    });
    expect(new X509Certificate(rotated.certPem).checkIssued(new X509Certificate(nextIssuer.certPem))).toBe(true);
    expect(verifyWorkloadChain(splitPemCerts(rotated.chainPem), rotated.trustBundlePem).spiffeId).toBe(wi.spiffeId);
    // A peer still holding a certificate from the old issuer verifies against the same bundle.
    expect(verifyWorkloadChain(splitPemCerts(first.chainPem), rotated.trustBundlePem).spiffeId).toBe(wi.spiffeId);
    // And the next renewal, now presenting the new-issuer certificate, works too.
    expect((await wi.renew()).serial).not.toBe(rotated.serial);
  } finally {
    wi.stop();
  }
}, 30_000);

it("ctx.ca gives other plugins the bundle of that control plane's CA", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cactx-"));
  const plugin = caPlugin();
  const ctx = { store: { etcd: cp.store.etcd }, log: createLogger("test", { level: "error" }), dataDir: dir, etcdEndpoints: [], metrics: new Registry(), trustDomain: "cluster.local", ca: new CaMaterialSlot() } as unknown as ControlPlaneContext;
  try {
    expect(ctx.ca.ready).toBe(false);
    await plugin.credentials!(ctx);
    await plugin.register(new grpc.Server(), ctx);
    expect(ctx.ca.current().bundle).toEqual(await loadBundle(path.join(dir, "certs", "bundle.crt")));
  } finally {
    await plugin.close?.();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
