import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  createCsr,
  createIssuer,
  createTrustAnchor,
  csrSpiffeId,
  generateKeyPair,
  issueWorkloadCert,
  PkiError,
  signCsr,
  spiffeIdOf,
  splitPemCerts,
  verifyWorkloadChain,
} from "./index.js";

const run = promisify(execFile);
const WEB = "spiffe://cluster.local/ns/default/sa/web";
const API = "spiffe://cluster.local/ns/default/sa/api";
const anchor = createTrustAnchor({ commonName: "test root", validityMs: 3600_000 });
const issuer = createIssuer(anchor, { commonName: "test issuer", validityMs: 3600_000 });

describe("pki", () => {
  it("issues a chain that openssl verify accepts, with SPIFFE SAN and mTLS usages", async () => {
    const w = issueWorkloadCert(issuer, WEB, 60_000);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-pki-"));
    try {
      await fs.writeFile(path.join(dir, "ca.crt"), anchor.certPem);
      await fs.writeFile(path.join(dir, "issuer.crt"), issuer.certPem);
      await fs.writeFile(path.join(dir, "leaf.crt"), w.certPem);
      const { stdout } = await run("openssl", ["verify", "-CAfile", "ca.crt", "-untrusted", "issuer.crt", "leaf.crt"], { cwd: dir });
      expect(stdout.trim()).toBe("leaf.crt: OK");
      // Without the issuer the leaf must not verify: the chain really goes through it.
      await expect(run("openssl", ["verify", "-CAfile", "ca.crt", "leaf.crt"], { cwd: dir })).rejects.toThrow();
      const { stdout: text } = await run("openssl", ["x509", "-in", "leaf.crt", "-noout", "-ext", "keyUsage,extendedKeyUsage,subjectAltName,basicConstraints"], { cwd: dir });
      expect(text).toContain("Digital Signature, Key Encipherment");
      expect(text).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
      expect(text).toContain(`URI:${WEB}`);
      expect(text).toContain("CA:FALSE");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    const leaf = new X509Certificate(w.certPem);
    expect(spiffeIdOf(leaf)).toBe(WEB);
    expect(leaf.serialNumber.toLowerCase()).toBe(w.serial);
    expect(new Date(leaf.validTo).getTime()).toBe(w.notAfter.getTime());
    expect(splitPemCerts(w.chainPem)).toHaveLength(2);
  });

  it("node:tls accepts the certificates for mutual TLS and exposes the peer SPIFFE IDs", async () => {
    const server = issueWorkloadCert(issuer, API, 60_000);
    const client = issueWorkloadCert(issuer, WEB, 60_000);
    let seenByServer: string | undefined;
    const srv = tls.createServer({ key: server.keyPem, cert: server.chainPem, ca: anchor.certPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      seenByServer = spiffeIdOf(s.getPeerCertificate());
      s.end("hi");
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    try {
      const seenByClient = await new Promise<string | undefined>((resolve, reject) => {
        const c = tls.connect({
          host: "127.0.0.1",
          port,
          key: client.keyPem,
          cert: client.chainPem,
          ca: anchor.certPem,
          // Workload certs carry no DNS/IP SAN: peers check the SPIFFE ID instead of a hostname.
          checkServerIdentity: (_h, cert) => (spiffeIdOf(cert) === API ? undefined : new Error("unexpected server identity")),
        });
        c.once("secureConnect", () => {
          resolve(spiffeIdOf(c.getPeerCertificate()));
        });
        c.on("data", () => c.end());
        c.once("error", reject);
      });
      expect(seenByClient).toBe(API);
      await new Promise((r) => setTimeout(r, 50));
      expect(seenByServer).toBe(WEB);
    } finally {
      srv.close();
    }
  });

  it("refuses a CSR whose requested SPIFFE ID differs from the proved one", () => {
    const { privateKeyPem } = generateKeyPair();
    const csr = createCsr(privateKeyPem, API);
    expect(csrSpiffeId(csr)).toBe(API);
    expect(() => signCsr(issuer, csr, { spiffeId: WEB, validityMs: 1000 })).toThrow(
      expect.objectContaining({ code: "TSMESH_ERR_CSR_IDENTITY_MISMATCH" }),
    );
  });

  it("refuses a CSR with a bad signature or garbage", () => {
    expect(() => signCsr(issuer, "not a csr", { spiffeId: WEB, validityMs: 1000 })).toThrow(PkiError);
    const { privateKeyPem } = generateKeyPair();
    const pem = createCsr(privateKeyPem, WEB);
    const b64 = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    const der = Buffer.from(b64, "base64");
    der[der.length - 5]! ^= 0xff; // flip a signature byte
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => signCsr(issuer, tampered, { spiffeId: WEB, validityMs: 1000 })).toThrow(
      expect.objectContaining({ code: "TSMESH_ERR_CSR_INVALID" }),
    );
  });

  it("verifyWorkloadChain accepts a valid chain, refuses expired and foreign-CA certificates", () => {
    const ok = issueWorkloadCert(issuer, WEB, 60_000);
    expect(verifyWorkloadChain(splitPemCerts(ok.chainPem), [anchor.certPem]).spiffeId).toBe(WEB);
    // Leaf only: the issuer is missing, so it cannot chain to the anchor.
    expect(() => verifyWorkloadChain([ok.certPem], [anchor.certPem])).toThrow(expect.objectContaining({ code: "TSMESH_ERR_CERT_UNTRUSTED" }));
    const expired = issueWorkloadCert(issuer, WEB, 1);
    expect(() => verifyWorkloadChain(splitPemCerts(expired.chainPem), [anchor.certPem], new Date(Date.now() + 2000))).toThrow(
      expect.objectContaining({ code: "TSMESH_ERR_CERT_EXPIRED" }),
    );
    const otherAnchor = createTrustAnchor({ commonName: "test root", validityMs: 3600_000 });
    const otherIssuer = createIssuer(otherAnchor, { commonName: "test issuer", validityMs: 3600_000 });
    const foreign = issueWorkloadCert(otherIssuer, WEB, 60_000);
    expect(() => verifyWorkloadChain(splitPemCerts(foreign.chainPem), [anchor.certPem])).toThrow(
      expect.objectContaining({ code: "TSMESH_ERR_CERT_UNTRUSTED" }),
    );
    // With both anchors in the bundle (rotation), both chains verify.
    expect(verifyWorkloadChain(splitPemCerts(foreign.chainPem), [anchor.certPem, otherAnchor.certPem]).spiffeId).toBe(WEB);
  });

  it("an issuer never signs past its own expiry", () => {
    const shortIssuer = createIssuer(anchor, { commonName: "short", validityMs: 5_000 });
    const w = issueWorkloadCert(shortIssuer, WEB, 3600_000);
    expect(w.notAfter.getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(shortIssuer.certPem).validTo).getTime());
  });

  it("refuses a CSR with an EC key (forge's X.509 is RSA-only) with a clear code", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-pki-ec-"));
    try {
      await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "r.csr", "-subj", "/CN=web", "-addext", `subjectAltName=URI:${WEB}`], { cwd: dir });
      const csr = await fs.readFile(path.join(dir, "r.csr"), "utf8");
      expect(() => signCsr(issuer, csr, { spiffeId: WEB, validityMs: 1000 })).toThrow(expect.objectContaining({ code: "TSMESH_ERR_CSR_INVALID" }));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("signs an RSA CSR made by openssl (a real client), keeping only the proved SPIFFE ID", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-pki-ossl-"));
    try {
      await run("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "r.csr", "-subj", "/CN=web", "-addext", `subjectAltName=URI:${WEB}`], { cwd: dir });
      const csr = await fs.readFile(path.join(dir, "r.csr"), "utf8");
      const signed = signCsr(issuer, csr, { spiffeId: WEB, validityMs: 60_000 });
      expect(spiffeIdOf(new X509Certificate(signed.certPem))).toBe(WEB);
      expect(new X509Certificate(signed.certPem).checkPrivateKey(createPrivateKey(await fs.readFile(path.join(dir, "k.pem"))))).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
