// Certificates.Sign end to end: real etcd, real gRPC over TLS on 127.0.0.1, real openssl.
import { execFile } from "node:child_process";
import { X509Certificate, createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaServerCredentials, getCertRecord, registerCertificates, type CaMaterial, type CaServerCredentials } from "../../control-plane/ca/index.js";
import { readToken } from "../../control-plane/ca/store.js";
import { createCsr, createIssuer, createTrustAnchor, generateKeyPair, issueWorkloadCert, splitPemCerts, verifyWorkloadChain } from "../../shared/pki/index.js";
import { callSign } from "../../sidecar/identity/client.js";
import { WorkloadIdentity } from "../../sidecar/identity/manager.js";
import { createSidecarMetrics } from "../../shared/metrics/index.js";
import { freePort } from "../../shared/net/free-port.js";
import { loadMeshProto } from "../../shared/proto/load.js";
import { useEtcd } from "../harness/etcd.js";

const run = promisify(execFile);
const TD = "cluster.local";
const id = (svc: string) => `spiffe://${TD}/ns/default/sa/${svc}`;

const etcdProc = useEtcd();
let etcd: Etcd3;
let server: grpc.Server;
let creds: CaServerCredentials;
let address: string;
const anchor = createTrustAnchor({ commonName: "ca test root", validityMs: 3600_000 });
const issuer = createIssuer(anchor, { commonName: "ca test issuer", validityMs: 3600_000 });
const material: CaMaterial = { issuer, bundle: [anchor.certPem] };

async function putToken(service: string, expiresInMs = 60_000): Promise<string> {
  const token = randomBytes(24).toString("base64url");
  const key = `/tsmesh/v1/tokens/${createHash("sha256").update(token).digest("hex")}`;
  const lease = etcd.lease(120, { autoKeepAlive: false });
  await lease.put(key).value(JSON.stringify({ service, namespace: "default", expiresAt: new Date(Date.now() + expiresInMs).toISOString() })).exec();
  lease.release();
  return token;
}

function csrFor(svc: string) {
  const { privateKeyPem } = generateKeyPair();
  return { keyPem: privateKeyPem, csrPem: createCsr(privateKeyPem, id(svc)) };
}

const sign = (o: Partial<Parameters<typeof callSign>[0]> & { csrPem: string }) => callSign({ address, trustBundlePem: [anchor.certPem], trustDomain: TD, ...o });

beforeAll(async () => {
  etcd = new Etcd3({ hosts: etcdProc().endpoint });
  server = new grpc.Server();
  registerCertificates(server, { etcd, material: () => material, trustDomain: TD, defaultTtlMs: 3600_000, maxTtlMs: 2 * 3600_000 });
  creds = createCaServerCredentials({ material: () => material, trustDomain: TD });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", creds.credentials, (e, p) => (e ? reject(e) : resolve(p))));
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  creds?.close();
  await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
  etcd?.close();
});

describe("bootstrap token records", () => {
  it("accept a service name of up to 63 lowercase RFC 1123 characters and refuse anything else as malformed", async () => {
    expect((await readToken(etcd, await putToken("a".repeat(63)))).service).toBe("a".repeat(63));
    for (const bad of ["a".repeat(64), "Web", "-web", "web_1", ""]) {
      await expect(readToken(etcd, await putToken(bad))).rejects.toThrow(/TSMESH_ERR_TOKEN_INVALID: bootstrap token record is malformed/);
    }
  });
});

describe("Certificates.Sign", () => {
  it("issues a chain for the token's service that openssl verify accepts against the bundle, and records it in etcd", async () => {
    const { csrPem } = csrFor("web");
    const res = await sign({ csrPem, bootstrapToken: await putToken("web") });
    expect(res.spiffeId).toBe(id("web"));
    expect(res.certChainPem).toHaveLength(2);
    expect(res.trustBundlePem).toEqual([anchor.certPem]);
    const leaf = new X509Certificate(res.certChainPem[0]!);
    expect(leaf.subjectAltName).toBe(`URI:${id("web")}`);
    expect(leaf.serialNumber.toLowerCase()).toBe(res.serial);
    // Default TTL of this CA is 1 h.
    expect(res.expiresAtUnixMs - Date.now()).toBeGreaterThan(3590_000);
    expect(res.expiresAtUnixMs - Date.now()).toBeLessThanOrEqual(3600_000);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-ca-"));
    try {
      await fs.writeFile(path.join(dir, "bundle.crt"), res.trustBundlePem.join(""));
      await fs.writeFile(path.join(dir, "chain.crt"), res.certChainPem.slice(1).join(""));
      await fs.writeFile(path.join(dir, "leaf.crt"), res.certChainPem[0]!);
      const { stdout } = await run("openssl", ["verify", "-CAfile", "bundle.crt", "-untrusted", "chain.crt", "-purpose", "sslclient", "leaf.crt"], { cwd: dir });
      expect(stdout.trim()).toBe("leaf.crt: OK");
      await run("openssl", ["verify", "-CAfile", "bundle.crt", "-untrusted", "chain.crt", "-purpose", "sslserver", "leaf.crt"], { cwd: dir });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }

    const rec = await getCertRecord(etcd, res.serial);
    expect(rec).toMatchObject({ serial: res.serial, spiffeId: id("web"), via: "token" });
    const raw = await etcd.get(`/tsmesh/v1/certs/${res.serial}`).exec();
    expect(raw.kvs[0]!.lease).not.toBe("0"); // vanishes with the certificate
  });

  it("refuses a reused token", async () => {
    const token = await putToken("web");
    await sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token });
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringContaining("TSMESH_ERR_TOKEN_INVALID"),
    });
  });

  it("two concurrent uses of one token yield exactly one certificate", async () => {
    const token = await putToken("web");
    const results = await Promise.allSettled([0, 1, 2].map(() => sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("a token's stored hash copied out of etcd does not mint: the CA needs the secret itself, and the token survives", async () => {
    const token = await putToken("web");
    const storedHash = createHash("sha256").update(token).digest("hex");
    const key = `/tsmesh/v1/tokens/${storedHash}`;
    expect(await etcd.get(key).string()).not.toBeNull();
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: storedHash })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringContaining("TSMESH_ERR_TOKEN_INVALID"),
    });
    expect(await etcd.get(key).string()).not.toBeNull();
    expect((await sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token })).spiffeId).toBe(id("web"));
  });

  it("refuses an expired or unknown token", async () => {
    const expired = await putToken("web", -1000);
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: expired })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: "made-up" })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("refuses a CSR for another service's identity (token and renewal), and keeps the token", async () => {
    const token = await putToken("web");
    await expect(sign({ csrPem: csrFor("api").csrPem, bootstrapToken: token })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: `TSMESH_ERR_IDENTITY_MISMATCH: CSR requests ${id("api")} but the caller proved ${id("web")}`,
    });
    const own = csrFor("web");
    const res = await sign({ csrPem: own.csrPem, bootstrapToken: token });
    const clientCert = { keyPem: own.keyPem, chainPem: res.certChainPem.join("") };
    await expect(sign({ csrPem: csrFor("api").csrPem, clientCert })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining(`caller proved ${id("web")}`),
    });
  });

  it("refuses a garbage CSR without consuming the token", async () => {
    const token = await putToken("web");
    await expect(sign({ csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", bootstrapToken: token })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token })).resolves.toMatchObject({ spiffeId: id("web") });
  });

  it("renews over mTLS with a valid certificate: same identity, new serial", async () => {
    const first = csrFor("web");
    const r1 = await sign({ csrPem: first.csrPem, bootstrapToken: await putToken("web") });
    const second = csrFor("web");
    const r2 = await sign({ csrPem: second.csrPem, clientCert: { keyPem: first.keyPem, chainPem: r1.certChainPem.join("") }, ttlSeconds: 600 });
    expect(r2.spiffeId).toBe(id("web"));
    expect(r2.serial).not.toBe(r1.serial);
    expect(r2.expiresAtUnixMs - Date.now()).toBeLessThanOrEqual(600_000);
    expect((await getCertRecord(etcd, r2.serial))?.via).toBe("renewal");
  });

  it("caps the requested lifetime", async () => {
    const r = await sign({ csrPem: csrFor("web").csrPem, bootstrapToken: await putToken("web"), ttlSeconds: 30 * 24 * 3600 });
    expect(r.expiresAtUnixMs - Date.now()).toBeLessThanOrEqual(2 * 3600_000);
  });

  it("refuses renewal without any credential, with an expired certificate, and with a foreign-CA certificate", async () => {
    await expect(sign({ csrPem: csrFor("web").csrPem })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining("TSMESH_ERR_NO_IDENTITY") });

    const expired = issueWorkloadCert(issuer, id("web"), 1);
    expect(new Date(new X509Certificate(expired.certPem).validTo).getTime()).toBeLessThanOrEqual(Date.now());
    await expect(sign({ csrPem: csrFor("web").csrPem, clientCert: { keyPem: expired.keyPem, chainPem: expired.chainPem } })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });

    const foreignAnchor = createTrustAnchor({ commonName: "ca test root", validityMs: 3600_000 });
    const foreignIssuer = createIssuer(foreignAnchor, { commonName: "ca test issuer", validityMs: 3600_000 });
    const foreign = issueWorkloadCert(foreignIssuer, id("web"), 3600_000);
    await expect(sign({ csrPem: csrFor("web").csrPem, clientCert: { keyPem: foreign.keyPem, chainPem: foreign.chainPem } })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
  });

  it("the control plane serves a certificate from the issuer with localhost/127.0.0.1 and its SPIFFE ID", () => {
    const cert = new X509Certificate(creds.current().certPem);
    expect(cert.subjectAltName).toContain("DNS:localhost");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(cert.subjectAltName).toContain(`URI:spiffe://${TD}/ns/tsmesh-system/sa/control-plane`);
    expect(cert.checkIssued(new X509Certificate(issuer.certPem))).toBe(true);
  });
});

describe("sidecar WorkloadIdentity", () => {
  it("rotates repeatedly under a 5-second lifetime; every certificate is valid and distinct; the gauge tracks expiry", async () => {
    const registry = new Registry();
    const wi = new WorkloadIdentity({
      service: "web",
      controlPlane: address,
      trustBundlePem: [anchor.certPem],
      token: await putToken("web"),
      ttlSeconds: 5,
      registry,
      retryBaseMs: 100,
      retryMaxMs: 500,
    });
    const seen: { serial: string; notAfter: number; valid: boolean }[] = [];
    wi.on("rotate", (s) => {
      let valid = true;
      try {
        verifyWorkloadChain(splitPemCerts(s.chainPem), s.trustBundlePem);
      } catch {
        valid = false;
      }
      seen.push({ serial: s.serial, notAfter: s.notAfter.getTime(), valid });
    });
    try {
      const first = await wi.start();
      expect(first.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(5000);
      const metric = await registry.getSingleMetricAsString("tsmesh_cert_expiry_seconds");
      const value = Number(/^tsmesh_cert_expiry_seconds (\S+)$/m.exec(metric)![1]);
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThanOrEqual(5);
      expect(Math.abs(value - (first.notAfter.getTime() - Date.now()) / 1000)).toBeLessThan(0.5);

      const deadline = Date.now() + 20_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(new Set(seen.map((s) => s.serial)).size).toBe(seen.length);
      expect(seen.every((s) => s.valid)).toBe(true);
      // Each renewal happened before the previous certificate expired: no gap in identity.
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.notAfter).toBeGreaterThanOrEqual(seen[i - 1]!.notAfter);
      expect(wi.current()!.notAfter.getTime()).toBeGreaterThan(Date.now());
      const after = Number(/^tsmesh_cert_expiry_seconds (\S+)$/m.exec(await registry.getSingleMetricAsString("tsmesh_cert_expiry_seconds"))![1]);
      expect(Math.abs(after - (wi.current()!.notAfter.getTime() - Date.now()) / 1000)).toBeLessThan(0.5);
    } finally {
      wi.stop();
    }
  }, 30_000);

  it("start() waits for a control plane that comes up late, but fails at once on a refused token", async () => {
    const port = await freePort();
    const late = new WorkloadIdentity({ service: "web", controlPlane: `127.0.0.1:${port}`, trustBundlePem: [anchor.certPem], token: await putToken("web"), retryBaseMs: 100, retryMaxMs: 300 });
    const started = late.start();
    await new Promise((r) => setTimeout(r, 800));
    const lateServer = new grpc.Server();
    registerCertificates(lateServer, { etcd, material: () => material, trustDomain: TD });
    const lateCreds = createCaServerCredentials({ material: () => material, trustDomain: TD });
    await new Promise<number>((resolve, reject) => lateServer.bindAsync(`127.0.0.1:${port}`, lateCreds.credentials, (e, p) => (e ? reject(e) : resolve(p))));
    try {
      await expect(started).resolves.toMatchObject({ spiffeId: id("web") });
    } finally {
      late.stop();
      lateCreds.close();
      lateServer.forceShutdown();
    }

    const refused = new WorkloadIdentity({ service: "web", controlPlane: address, trustBundlePem: [anchor.certPem], token: "never-issued" });
    const t0 = Date.now();
    await expect(refused.start()).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(Date.now() - t0).toBeLessThan(3000);
  }, 30_000);

  it("the gauge also works when the sidecar's metrics already registered tsmesh_cert_expiry_seconds", async () => {
    const registry = new Registry();
    const metrics = createSidecarMetrics(registry);
    const wi = new WorkloadIdentity({ service: "web", controlPlane: address, trustBundlePem: [anchor.certPem], token: await putToken("web"), ttlSeconds: 600, registry });
    try {
      const s = await wi.start();
      const value = (await metrics.certExpiry.get()).values[0]!.value;
      expect(Math.abs(value - (s.notAfter.getTime() - Date.now()) / 1000)).toBeLessThan(1.5);
      expect(value).toBeGreaterThan(590);
    } finally {
      wi.stop();
    }
  });

  it("a sidecar does not send its token to a server that is not the control plane (even with a mesh certificate)", async () => {
    const impostorCert = issueWorkloadCert(issuer, id("web"), 60_000);
    const impostor = new grpc.Server();
    let called = false;
    impostor.addService(loadMeshProto().Certificates.service, {
      Sign: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        called = true;
        cb({ code: grpc.status.INTERNAL });
      },
    });
    const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(impostorCert.keyPem), cert_chain: Buffer.from(impostorCert.chainPem) }], false);
    const port = await new Promise<number>((resolve, reject) => impostor.bindAsync("127.0.0.1:0", creds, (e, p) => (e ? reject(e) : resolve(p))));
    const token = await putToken("web");
    try {
      await expect(sign({ address: `127.0.0.1:${port}`, csrPem: csrFor("web").csrPem, bootstrapToken: token, timeoutMs: 3000 })).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringContaining("TSMESH_ERR_CONTROL_PLANE_IDENTITY"),
      });
      expect(called).toBe(false);
    } finally {
      impostor.forceShutdown();
    }
    // The token is still good at the real control plane.
    await expect(sign({ csrPem: csrFor("web").csrPem, bootstrapToken: token })).resolves.toMatchObject({ spiffeId: id("web") });
  });
});
