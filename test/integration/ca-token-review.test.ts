// First certificates paid for with a Kubernetes ServiceAccount token (control plane run with
// --kube-token-review). There is no kube-apiserver here, so a small HTTPS server on 127.0.0.1
// stands in for it: it serves the one endpoint the CA calls, POST
// /apis/authentication.k8s.io/v1/tokenreviews, with the TokenReview v1 request/response shape, and
// like the API server it requires the caller's bearer token and reports the audiences a token is
// valid for. Its TLS is real (self-signed certificate for 127.0.0.1 given to the CA as the
// in-cluster ca.crt), so the CA's server verification, headers and body are exercised for real.
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { caPlugin, inClusterTokenReviewer, loadBundle } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { selfSignedServingCert } from "../../control-plane/webhook/serving-cert.js";
import { createLogger } from "../../shared/log.js";
import { spiffeIdOf, splitPemCerts, verifyWorkloadChain } from "../../shared/pki/index.js";
import { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { useEtcd } from "../harness/etcd.js";
import { CLI, snapshotOf, startSidecarProcess } from "../harness/processes.js";

const etcd = useEtcd();
const CP_SA_TOKEN = "control-plane-own-sa-token";
const jwt = (sub: string) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub })).toString("base64url")}.c2ln`;
// Tokens the fake API server knows: username and the audience each was issued for.
const KNOWN = new Map([
  [jwt("orders"), { username: "system:serviceaccount:shop:orders", audience: "tsmesh" }],
  [jwt("default-sa"), { username: "system:serviceaccount:shop:default", audience: "tsmesh" }],
  [jwt("other-aud"), { username: "system:serviceaccount:shop:orders", audience: "https://kubernetes.default.svc" }],
  [jwt("a-user"), { username: "alice", audience: "tsmesh" }],
]);

let tmp: string;
let apiServer: https.Server;
let cp: ControlPlane;
const seen: Array<{ authorization?: string; body: { kind?: string; spec?: { token?: string; audiences?: string[] } } }> = [];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-tokenreview-"));
  const serving = selfSignedServingCert(["127.0.0.1"]);
  apiServer = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/apis/authentication.k8s.io/v1/tokenreviews") return void res.writeHead(404).end();
      if (req.headers.authorization !== `Bearer ${CP_SA_TOKEN}`) return void res.writeHead(401).end('{"kind":"Status","code":401}');
      const body = JSON.parse(text) as (typeof seen)[number]["body"];
      seen.push({ authorization: req.headers.authorization, body });
      const known = KNOWN.get(body.spec?.token ?? "");
      const wanted = body.spec?.audiences ?? [];
      const ok = !!known && wanted.includes(known.audience);
      const status = ok ? { authenticated: true, user: { username: known.username }, audiences: [known.audience] } : { authenticated: false, error: "invalid bearer token" };
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ ...body, status }));
    });
  });
  await new Promise<void>((r) => apiServer.listen(0, "127.0.0.1", r));
  const saDir = path.join(tmp, "serviceaccount");
  await fs.mkdir(saDir);
  await fs.writeFile(path.join(saDir, "token"), `${CP_SA_TOKEN}\n`);
  await fs.writeFile(path.join(saDir, "ca.crt"), serving.certPem);
  const port = (apiServer.address() as { port: number }).port;
  const reviewer = inClusterTokenReviewer({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(port) }, saDir);
  cp = await startControlPlane({
    etcd: [etcd().endpoint],
    apiPort: 0,
    grpcPort: 0,
    dataDir: path.join(tmp, "cp"),
    token: "tokenreview-admin",
    plugins: [caPlugin({ tokenReviewer: reviewer })],
    log: createLogger("test", { level: "error" }),
  });
}, 30_000);

afterAll(async () => {
  await cp?.close();
  await new Promise((r) => apiServer?.close(r));
  await fs.rm(tmp, { recursive: true, force: true });
});

const identity = async (service: string, token: string) =>
  new WorkloadIdentity({
    service,
    namespace: "shop",
    controlPlane: `127.0.0.1:${cp.grpcPort}`,
    trustBundlePem: await loadBundle(path.join(tmp, "cp", "certs", "bundle.crt")),
    token,
    startTimeoutMs: 2000,
  });

it("a ServiceAccount token (audience tsmesh) buys spiffe://.../ns/<ns>/sa/<sa>, checked by TokenReview", async () => {
  const wi = await identity("orders", jwt("orders"));
  try {
    const state = await wi.start();
    expect(state.spiffeId).toBe("spiffe://cluster.local/ns/shop/sa/orders");
    const bundle = await loadBundle(path.join(tmp, "cp", "certs", "bundle.crt"));
    expect(verifyWorkloadChain(splitPemCerts(state.chainPem), bundle).spiffeId).toBe(state.spiffeId);
  } finally {
    wi.stop();
  }
  // The CA asked with its own credentials, for our audience only.
  expect(seen.at(-1)).toEqual({ authorization: `Bearer ${CP_SA_TOKEN}`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: jwt("orders"), audiences: ["tsmesh"] } } });
  // Unlike a bootstrap token it is not consumed: a restarted pod proves itself again.
  const again = await identity("orders", jwt("orders"));
  try {
    expect(spiffeIdOf(new X509Certificate((await again.start()).certPem))).toBe("spiffe://cluster.local/ns/shop/sa/orders");
  } finally {
    again.stop();
  }
});

it("tsmesh sidecar --token-file <projected token> --namespace gets its certificate that way", async () => {
  const tokenFile = path.join(tmp, "projected-token");
  await fs.writeFile(tokenFile, `${jwt("orders")}\n`, { mode: 0o600 });
  const side = await startSidecarProcess({
    service: "orders",
    appPort: 1,
    dir: tmp,
    snapshot: snapshotOf({}),
    extraArgs: ["--control-plane", `127.0.0.1:${cp.grpcPort}`, "--ca-bundle", path.join(tmp, "cp", "certs", "bundle.crt"), "--token-file", tokenFile, "--config-cache", path.join(tmp, "orders-config.json")],
    env: { POD_NAMESPACE: "shop" },
  });
  try {
    const dump = (await (await fetch(`http://127.0.0.1:${side.admin}/config_dump`)).json()) as { certificate: { spiffeId?: string } };
    expect(dump.certificate.spiffeId).toBe("spiffe://cluster.local/ns/shop/sa/orders");
    expect(side.logs()).not.toContain(jwt("orders"));
  } finally {
    await side.stop();
  }
}, 40_000);

it("refuses another ServiceAccount's identity, another audience, a user, and unknown tokens", async () => {
  const refused = async (service: string, token: string) => {
    const wi = await identity(service, token);
    try {
      return await wi.start().then(
        () => "issued",
        (err: { code?: number; details?: string }) => `${err.code} ${err.details?.split(":")[0]}`,
      );
    } finally {
      wi.stop();
    }
  };
  // grpc status 7 PERMISSION_DENIED, 16 UNAUTHENTICATED.
  expect(await refused("orders", jwt("default-sa"))).toBe("7 TSMESH_ERR_IDENTITY_MISMATCH");
  expect(await refused("orders", jwt("other-aud"))).toBe("16 TSMESH_ERR_TOKEN_INVALID");
  expect(await refused("orders", jwt("a-user"))).toBe("16 TSMESH_ERR_TOKEN_INVALID");
  expect(await refused("orders", jwt("unknown"))).toBe("16 TSMESH_ERR_TOKEN_INVALID");
});

it("outside a cluster --kube-token-review has nothing to talk to: a clear error", () => {
  expect(() => inClusterTokenReviewer({}, tmp)).toThrow(/KUBERNETES_SERVICE_HOST/);
  expect(() => inClusterTokenReviewer({ KUBERNETES_SERVICE_HOST: "127.0.0.1" }, path.join(tmp, "nope"))).toThrow(/no ServiceAccount credentials/);
  // The built CLI: a usage error (exit 2) before anything starts.
  const env = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  const run = spawnSync(process.execPath, [CLI, "control-plane", "--kube-token-review", "--data-dir", path.join(tmp, "never")], { env, encoding: "utf8", timeout: 20_000 });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/--kube-token-review: not running in a Kubernetes pod/);
});
