// Trust bundles: several anchors at once so an anchor can be rotated without downtime.
import { X509Certificate } from "node:crypto";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits concatenated PEM text into single certificate PEMs (each ending with a newline). */
export function splitPemCerts(text: string): string[] {
  return (text.match(PEM_CERT) ?? []).map((p) => p + "\n");
}

/** Drops duplicates and certificates that are expired or not CAs; keeps order. */
export function normalizeBundle(pems: string[], now = new Date()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of pems) {
    const cert = new X509Certificate(pem);
    if (!cert.ca || new Date(cert.validTo) < now || seen.has(cert.fingerprint256)) continue;
    seen.add(cert.fingerprint256);
    out.push(pem);
  }
  return out;
}
