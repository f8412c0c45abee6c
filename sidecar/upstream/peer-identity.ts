// Server identity check for mesh connections: the peer must present the SPIFFE ID of the
// destination service (chain verification against the trust bundle is TLS's own job).
import type { PeerCertificate } from "node:tls";
import { parseSpiffeId } from "../../shared/identity.js";
import { spiffeIdOf } from "../../shared/pki/spiffe.js";

export class PeerIdentityError extends Error {
  readonly code = "TSMESH_ERR_PEER_IDENTITY";
}

export function expectIdentity(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const got = spiffeIdOf(cert);
    if (got === expected) return undefined;
    return new PeerIdentityError(`peer presented ${got ?? "no SPIFFE ID"}, expected ${expected}`);
  };
}

/** SNI for a mesh connection: the destination service name (SNI cannot carry an IP). */
export function serverNameFor(identity: string): string {
  return parseSpiffeId(identity)?.service ?? "tsmesh";
}
