// Signs a verified CSR into a short-lived workload certificate (SPIFFE URI SAN, mTLS usages).
import crypto from "node:crypto";
import forge from "node-forge";
import type { CertKeyPem } from "./ca.js";
import { PkiError } from "./errors.js";
import { parseCsr } from "./csr.js";
import { signCertificate } from "./forge-sign.js";
import { lf, randomSerial, subject, CLOCK_SKEW_MS } from "./names.js";

export interface SignOptions {
  spiffeId: string;
  validityMs: number;
  /** Extra SANs, e.g. for the control plane's own serving certificate. */
  dnsNames?: string[];
  ipAddresses?: string[];
}

export interface SignedCert {
  certPem: string;
  serial: string;
  notAfter: Date;
}

interface LoadedIssuer {
  cert: forge.pki.Certificate;
  key: crypto.KeyObject;
  keyId: string;
}

// Parsing the issuer (forge ASN.1 + key import) costs more than a signature; cache a few.
const issuers = new Map<string, LoadedIssuer>();
function loadIssuer(issuer: CertKeyPem): LoadedIssuer {
  const cacheKey = issuer.certPem + "\0" + crypto.createHash("sha256").update(issuer.keyPem).digest("hex");
  let hit = issuers.get(cacheKey);
  if (!hit) {
    const cert = forge.pki.certificateFromPem(issuer.certPem);
    hit = { cert, key: crypto.createPrivateKey(issuer.keyPem), keyId: cert.generateSubjectKeyIdentifier().getBytes() };
    if (issuers.size >= 8) issuers.delete(issuers.keys().next().value!);
    issuers.set(cacheKey, hit);
  }
  return hit;
}

export function signCsr(issuer: CertKeyPem, csrPem: string, opts: SignOptions): SignedCert {
  if (!opts.spiffeId.startsWith("spiffe://")) throw new PkiError("TSMESH_ERR_CSR_INVALID", `not a SPIFFE ID: ${opts.spiffeId}`);
  if (!(opts.validityMs > 0)) throw new RangeError("validityMs must be > 0");
  const { csr, uris } = parseCsr(csrPem);
  if (uris.length > 0 && (uris.length !== 1 || uris[0] !== opts.spiffeId)) {
    throw new PkiError(
      "TSMESH_ERR_CSR_IDENTITY_MISMATCH",
      `CSR requests ${uris.join(", ")} but the caller proved ${opts.spiffeId}`,
    );
  }
  const iss = loadIssuer(issuer);
  const cert = forge.pki.createCertificate();
  cert.publicKey = csr.publicKey as forge.pki.rsa.PublicKey;
  const serial = randomSerial();
  cert.serialNumber = serial;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  let notAfter = new Date(now + opts.validityMs);
  if (notAfter > iss.cert.validity.notAfter) notAfter = iss.cert.validity.notAfter;
  // X.509 times have whole seconds; report what is actually in the certificate.
  notAfter = new Date(Math.floor(notAfter.getTime() / 1000) * 1000);
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject(opts.spiffeId.split("/").pop() ?? "workload"));
  cert.setIssuer(iss.cert.subject.attributes);
  const altNames: Array<{ type: number; value?: string; ip?: string }> = [{ type: 6, value: opts.spiffeId }];
  for (const d of opts.dnsNames ?? []) altNames.push({ type: 2, value: d });
  for (const ip of opts.ipAddresses ?? []) altNames.push({ type: 7, ip });
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: iss.keyId },
  ]);
  signCertificate(cert, iss.key);
  return { certPem: lf(forge.pki.certificateToPem(cert)), serial, notAfter };
}
