// Reads the SPIFFE ID from a certificate's URI SAN (node:crypto X509Certificate or tls PeerCertificate).
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";

function uriSans(altNames: string | undefined): string[] {
  if (!altNames) return [];
  const out: string[] = [];
  // Node prints "DNS:a, URI:spiffe://x, IP Address:1.2.3.4"; values with ", " would be JSON-quoted.
  for (const part of altNames.split(", ")) {
    if (part.startsWith("URI:")) {
      let v = part.slice(4);
      if (v.startsWith('"')) {
        try {
          v = JSON.parse(v) as string;
        } catch {
          continue;
        }
      }
      out.push(v);
    }
  }
  return out;
}

/** The certificate's SPIFFE ID, or undefined when it has none or (against the spec) several. */
export function spiffeIdOf(cert: X509Certificate | PeerCertificate): string | undefined {
  const alt = cert instanceof X509Certificate ? cert.subjectAltName : cert.subjectaltname;
  const ids = uriSans(alt).filter((u) => u.startsWith("spiffe://"));
  return ids.length === 1 ? ids[0] : undefined;
}
