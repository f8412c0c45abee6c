// The CA plugged into a real `startControlPlane`: token from the REST API, certificate over the
// TLS gRPC port, renewal over mTLS, metrics on the API port.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadBundle } from "../../control-plane/ca/index.js";
import { caPlugin } from "../../control-plane/ca/plugin.js";
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
    plugins: [caPlugin()],
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
