// One-call workload certificate for tests and development: key, CSR, signature.
import type { CertKeyPem } from "./ca.js";
import { createCsr } from "./csr.js";
import { generateKeyPair } from "./keys.js";
import { signCsr } from "./sign.js";

export interface WorkloadCert extends CertKeyPem {
  /** Leaf followed by the issuer: what a TLS endpoint presents as `cert`. */
  chainPem: string;
  serial: string;
  notAfter: Date;
}

export function issueWorkloadCert(issuer: CertKeyPem, spiffeId: string, validityMs: number): WorkloadCert {
  const { privateKeyPem } = generateKeyPair();
  const signed = signCsr(issuer, createCsr(privateKeyPem, spiffeId), { spiffeId, validityMs });
  return {
    certPem: signed.certPem,
    keyPem: privateKeyPem,
    chainPem: signed.certPem + issuer.certPem,
    serial: signed.serial,
    notAfter: signed.notAfter,
  };
}
