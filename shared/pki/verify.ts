// Chain verification for renewal: leaf -> (optional intermediates) -> one of the bundle's anchors.
import { X509Certificate } from "node:crypto";
import { PkiError } from "./errors.js";
import { spiffeIdOf } from "./spiffe.js";

function within(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now < new Date(cert.validTo);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return parent.ca && child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Verifies `chain[0]` (the leaf) up to an anchor in `anchorsPem`, using the rest of `chain` as
 * intermediates. Returns the leaf's SPIFFE ID. Throws PkiError with a specific code otherwise.
 */
export function verifyWorkloadChain(chain: Array<string | X509Certificate>, anchorsPem: string[], now = new Date()): { spiffeId: string; leaf: X509Certificate } {
  const certs = chain.map((c) => (typeof c === "string" ? new X509Certificate(c) : c));
  const leaf = certs[0];
  if (!leaf) throw new PkiError("TSMESH_ERR_CERT_INVALID", "no certificate presented");
  if (leaf.ca) throw new PkiError("TSMESH_ERR_CERT_INVALID", "presented certificate is a CA, not a workload certificate");
  const anchors = anchorsPem.map((p) => new X509Certificate(p));
  let current = leaf;
  for (let depth = 0; depth < 4; depth++) {
    if (!within(current, now)) throw new PkiError("TSMESH_ERR_CERT_EXPIRED", `certificate ${current.serialNumber} is expired or not yet valid (valid ${current.validFrom} .. ${current.validTo})`);
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) {
      if (!within(anchor, now)) throw new PkiError("TSMESH_ERR_CERT_EXPIRED", "trust anchor is expired");
      const spiffeId = spiffeIdOf(leaf);
      if (!spiffeId) throw new PkiError("TSMESH_ERR_CERT_INVALID", "certificate has no single SPIFFE URI SAN");
      return { spiffeId, leaf };
    }
    const next = certs.slice(1).find((c) => c !== current && issuedBy(current, c));
    if (!next) break;
    current = next;
  }
  throw new PkiError("TSMESH_ERR_CERT_UNTRUSTED", "certificate does not chain to a trust anchor in the bundle");
}
