// Trust anchor (self-signed root) and issuer (intermediate) certificates.
import crypto from "node:crypto";
import forge from "node-forge";
import { generateKeyPair } from "./keys.js";
import { signCertificate } from "./forge-sign.js";
import { lf, randomSerial, subject, CLOCK_SKEW_MS } from "./names.js";

export interface CertKeyPem {
  certPem: string;
  keyPem: string;
}

export interface CaOptions {
  commonName: string;
  validityMs: number;
}

function caCert(opts: CaOptions, publicKeyPem: string, pathLen: number | undefined): forge.pki.Certificate {
  if (!(opts.validityMs > 0)) throw new RangeError("validityMs must be > 0");
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + opts.validityMs);
  cert.setSubject(subject(opts.commonName));
  const bc: Record<string, unknown> = { name: "basicConstraints", cA: true, critical: true };
  if (pathLen !== undefined) bc.pathLenConstraint = pathLen;
  cert.setExtensions([
    bc,
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  return cert;
}

/** Self-signed root CA: the long-lived trust anchor. */
export function createTrustAnchor(opts: CaOptions): CertKeyPem {
  const keys = generateKeyPair(3072);
  const cert = caCert(opts, keys.publicKeyPem, undefined);
  cert.setIssuer(cert.subject.attributes);
  const ski = cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([...cert.extensions, { name: "authorityKeyIdentifier", keyIdentifier: ski }]);
  signCertificate(cert, keys.privateKeyPem);
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: keys.privateKeyPem };
}

/** Intermediate CA signed by the anchor; the control plane signs workload certs with it. */
export function createIssuer(anchor: CertKeyPem, opts: CaOptions): CertKeyPem {
  const parent = forge.pki.certificateFromPem(anchor.certPem);
  const keys = generateKeyPair(2048);
  const cert = caCert(opts, keys.publicKeyPem, 0);
  cert.setIssuer(parent.subject.attributes);
  // Never outlive the anchor: a chain is only as valid as its shortest link.
  if (cert.validity.notAfter > parent.validity.notAfter) cert.validity.notAfter = parent.validity.notAfter;
  cert.setExtensions([
    ...cert.extensions,
    { name: "authorityKeyIdentifier", keyIdentifier: parent.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, crypto.createPrivateKey(anchor.keyPem));
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: keys.privateKeyPem };
}
