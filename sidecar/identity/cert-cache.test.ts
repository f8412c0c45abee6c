import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIssuer, createTrustAnchor, issueWorkloadCert, type CertKeyPem, type WorkloadCert } from "../../shared/pki/index.js";
import { identityCacheDir, loadIdentityCache, saveIdentityCache } from "./cert-cache.js";

const ID = "spiffe://cluster.local/ns/default/sa/web";
let tmp: string;
let anchor: CertKeyPem;
let issuer: CertKeyPem;
let cert: WorkloadCert;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cert-cache-"));
  anchor = createTrustAnchor({ commonName: "anchor", validityMs: 3_600_000 });
  issuer = createIssuer(anchor, { commonName: "issuer", validityMs: 3_600_000 });
  cert = issueWorkloadCert(issuer, ID, 600_000);
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

describe("workload certificate cache", () => {
  it("sits beside the config cache", () => {
    expect(identityCacheDir("/tmp/tsmesh-sidecar-web-15006-config.json")).toBe("/tmp/tsmesh-sidecar-web-15006-config.identity");
  });

  it("round-trips a valid pair with private modes (dir 0700, files 0600), tightening an existing dir", async () => {
    const dir = path.join(tmp, "ok");
    await fs.mkdir(dir, { mode: 0o755 });
    await fs.chmod(dir, 0o755);
    await saveIdentityCache(dir, cert);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of await fs.readdir(dir)) expect((await fs.stat(path.join(dir, f))).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(dir)).sort()).toEqual(["chain.pem", "key.pem"]);
    const { state, reason } = await loadIdentityCache(dir, ID, [anchor.certPem]);
    expect(reason).toBe("ok");
    expect(state?.keyPem).toBe(cert.keyPem);
    expect(state?.chainPem).toBe(cert.chainPem);
    expect(state?.serial).toBe(cert.serial);
    expect(state?.notAfter.getTime()).toBe(Math.floor(cert.notAfter.getTime() / 1000) * 1000);
  });

  it("absent, expired, foreign identity, mismatched key or unknown anchor: not used", async () => {
    expect((await loadIdentityCache(path.join(tmp, "none"), ID, [anchor.certPem])).reason).toBe("absent");
    const dir = path.join(tmp, "bad");
    await saveIdentityCache(dir, cert);
    expect((await loadIdentityCache(dir, ID, [anchor.certPem], new Date(Date.now() + 700_000))).reason).toMatch(/expired/);
    expect((await loadIdentityCache(dir, "spiffe://cluster.local/ns/default/sa/other", [anchor.certPem])).reason).toMatch(/identity is/);
    const otherAnchor = createTrustAnchor({ commonName: "other", validityMs: 3_600_000 });
    expect((await loadIdentityCache(dir, ID, [otherAnchor.certPem])).reason).toMatch(/trust anchor/);
    // A torn pair: the key of one certificate with the chain of another.
    const other = issueWorkloadCert(issuer, ID, 600_000);
    await saveIdentityCache(dir, { keyPem: other.keyPem, chainPem: cert.chainPem });
    const torn = await loadIdentityCache(dir, ID, [anchor.certPem]);
    expect(torn.state).toBeUndefined();
    expect(torn.reason).toMatch(/key does not match/);
  });
});
