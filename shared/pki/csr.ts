// CSRs carrying the requested SPIFFE ID as a URI SAN in the extensionRequest attribute.
import crypto from "node:crypto";
import forge from "node-forge";
import { PkiError } from "./errors.js";
import { signCertificationRequest, verifyCertificationRequest } from "./forge-sign.js";
import { lf, subject } from "./names.js";

const URI_SAN = 6;

export function createCsr(keyPem: string, spiffeId: string): string {
  const key = crypto.createPrivateKey(keyPem);
  const pubPem = crypto.createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(pubPem);
  csr.setSubject(subject(spiffeId.split("/").pop() ?? "workload"));
  csr.setAttributes([
    { name: "extensionRequest", extensions: [{ name: "subjectAltName", altNames: [{ type: URI_SAN, value: spiffeId }] }] },
  ]);
  signCertificationRequest(csr, key);
  return lf(forge.pki.certificationRequestToPem(csr));
}

export interface ParsedCsr {
  csr: forge.pki.CertificateSigningRequest;
  /** URI SANs the CSR asks for (normally exactly one SPIFFE ID). */
  uris: string[];
}

/** Parses and verifies a CSR (PEM). Throws PkiError TSMESH_ERR_CSR_INVALID on anything malformed. */
export function parseCsr(csrPem: string): ParsedCsr {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new PkiError("TSMESH_ERR_CSR_INVALID", `CSR is not a valid PEM RSA certification request: ${(err as Error).message}`);
  }
  if (!verifyCertificationRequest(csr)) {
    throw new PkiError("TSMESH_ERR_CSR_INVALID", "CSR signature does not verify (or is not SHA-256 with RSA)");
  }
  const uris: string[] = [];
  const req = csr.getAttribute({ name: "extensionRequest" }) as { extensions?: Array<{ name?: string; altNames?: Array<{ type: number; value: string }> }> } | null;
  for (const ext of req?.extensions ?? []) {
    if (ext.name !== "subjectAltName") continue;
    for (const alt of ext.altNames ?? []) if (alt.type === URI_SAN) uris.push(alt.value);
  }
  return { csr, uris };
}

/** The single SPIFFE ID a CSR requests, or undefined when it requests none or several. */
export function csrSpiffeId(csrPem: string): string | undefined {
  const spiffe = parseCsr(csrPem).uris.filter((u) => u.startsWith("spiffe://"));
  return spiffe.length === 1 ? spiffe[0] : undefined;
}
