// Small shared bits for building certificates: serials, names, timing.
import crypto from "node:crypto";
import type forge from "node-forge";

/** 128-bit random positive serial as lower-case hex (first byte 0x01..0x7f: positive, no leading zero). */
export function randomSerial(): string {
  const b = crypto.randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

export function subject(commonName: string, organization = "tsmesh"): forge.pki.CertificateField[] {
  return [
    { name: "organizationName", value: organization },
    { name: "commonName", value: commonName.slice(0, 64) },
  ];
}

/** Backdating notBefore tolerates modest clock skew between control plane and sidecars. */
export const CLOCK_SKEW_MS = 30_000;

/** forge writes PEM with CRLF; everything else in Node (and openssl) uses LF. */
export function lf(pem: string): string {
  return pem.replace(/\r\n/g, "\n");
}
