// Plain TLS certificates (no SPIFFE ID) signed by a CA: servers named by DNS names and IPs,
// clients named by their common name. For infrastructure the mesh runs itself, e.g. etcd.
import crypto from "node:crypto";
import net from "node:net";
import forge from "node-forge";
import type { CertKeyPem } from "./ca.js";
import { signCertificate } from "./forge-sign.js";
import { generateKeyPair } from "./keys.js";
import { CLOCK_SKEW_MS, lf, randomSerial, subject } from "./names.js";

export interface TlsCertOptions {
  commonName: string;
  /** DNS names and IP addresses put in the subjectAltName (a server's names). */
  hosts?: string[];
  serverAuth?: boolean;
  clientAuth?: boolean;
  validityMs: number;
}

export function issueTlsCert(ca: CertKeyPem, opts: TlsCertOptions): CertKeyPem {
  if (!(opts.validityMs > 0)) throw new RangeError("validityMs must be > 0");
  const parent = forge.pki.certificateFromPem(ca.certPem);
  const keys = generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(Math.min(now + opts.validityMs, parent.validity.notAfter.getTime()));
  cert.setSubject(subject(opts.commonName));
  cert.setIssuer(parent.subject.attributes);
  const extensions: Array<Record<string, unknown>> = [
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: opts.serverAuth ?? false, clientAuth: opts.clientAuth ?? false },
    { name: "authorityKeyIdentifier", keyIdentifier: parent.generateSubjectKeyIdentifier().getBytes() },
  ];
  const hosts = opts.hosts ?? [];
  if (hosts.length > 0) extensions.push({ name: "subjectAltName", altNames: hosts.map((h) => (net.isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) });
  cert.setExtensions(extensions);
  signCertificate(cert, crypto.createPrivateKey(ca.keyPem));
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: keys.privateKeyPem };
}
