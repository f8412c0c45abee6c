// Certificates.Sign without the transport: prove the caller's identity (bootstrap token or a
// still-valid workload certificate), check the CSR asks for exactly that identity, sign, record.
import type { X509Certificate } from "node:crypto";
import type { Etcd3 } from "etcd3";
import type { Counter } from "prom-client";
import { parseSpiffeId, spiffeId } from "../../shared/identity.js";
import type { Logger } from "../../shared/log.js";
import { PkiError, parseCsr, signCsr, verifyWorkloadChain } from "../../shared/pki/index.js";
import type { SignRequestMsg, SignResponseMsg } from "../../shared/proto/load.js";
import { CaError } from "./errors.js";
import type { CaMaterial } from "./files.js";
import { readToken, recordIssued, type TokenClaim } from "./store.js";
import { looksLikeJwt, type TokenReviewer } from "./token-review.js";

export const DEFAULT_CERT_TTL_MS = 24 * 3600_000;
const MAX_CSR_BYTES = 16 * 1024;

export interface SignerDeps {
  etcd: Etcd3;
  /** Current issuer + bundle; a function so a reload (anchor rotation) is picked up. */
  material: () => CaMaterial;
  trustDomain: string;
  /** Lifetime when the request asks for none; default 24 h. */
  defaultTtlMs?: number;
  /** Cap on requested lifetimes; default = defaultTtlMs. */
  maxTtlMs?: number;
  /** The mesh-wide lifetime (MeshConfig), asked at each signing; when set it wins over defaultTtlMs and raises the cap to itself. */
  meshTtlMs?: () => Promise<number | undefined>;
  log?: Logger;
  certsIssued?: Counter;
  /** Accept Kubernetes ServiceAccount tokens (JWTs) as proof, checked by TokenReview. */
  tokenReviewer?: TokenReviewer;
}

export interface ProvedIdentity {
  spiffeId: string;
  via: "token" | "renewal" | "kubernetes";
  claim?: TokenClaim;
}

function requestedId(csrPem: string): string {
  if (!csrPem || csrPem.length > MAX_CSR_BYTES) throw new CaError("TSMESH_ERR_CSR_INVALID", `csr_pem must be a PEM CSR of at most ${MAX_CSR_BYTES} bytes`);
  let uris: string[];
  try {
    uris = parseCsr(csrPem).uris;
  } catch (err) {
    throw new CaError("TSMESH_ERR_CSR_INVALID", (err as Error).message);
  }
  if (uris.length !== 1 || !parseSpiffeId(uris[0]!)) {
    throw new CaError("TSMESH_ERR_CSR_INVALID", `CSR must request exactly one SPIFFE ID (URI SAN spiffe://<td>/ns/<ns>/sa/<sa>), got [${uris.join(", ")}]`);
  }
  return uris[0]!;
}

/** Who the caller is: a token (first certificate) wins over a client certificate (renewal). */
export async function proveIdentity(deps: SignerDeps, token: string, peer: X509Certificate | undefined): Promise<ProvedIdentity> {
  if (token && deps.tokenReviewer && looksLikeJwt(token)) {
    // Reusable within its lifetime (bound to the pod), unlike a bootstrap token: nothing to consume.
    const sa = await deps.tokenReviewer.review(token);
    return { spiffeId: spiffeId({ trustDomain: deps.trustDomain, namespace: sa.namespace, service: sa.serviceAccount }), via: "kubernetes" };
  }
  if (token) {
    const claim = await readToken(deps.etcd, token);
    return { spiffeId: spiffeId({ trustDomain: deps.trustDomain, namespace: claim.namespace, service: claim.service }), via: "token", claim };
  }
  if (!peer) {
    throw new CaError(
      "TSMESH_ERR_NO_IDENTITY",
      "no bootstrap token and no client certificate that verifies against the mesh trust bundle (renewal needs a still-valid workload certificate from this mesh's CA)",
    );
  }
  const m = deps.material();
  try {
    const { spiffeId: id } = verifyWorkloadChain([peer, ...(m.intermediates ?? [m.issuer.certPem])], m.bundle);
    if (parseSpiffeId(id)?.trustDomain !== deps.trustDomain) throw new PkiError("TSMESH_ERR_CERT_UNTRUSTED", `${id} is outside trust domain ${deps.trustDomain}`);
    return { spiffeId: id, via: "renewal" };
  } catch (err) {
    if (err instanceof PkiError) throw new CaError("TSMESH_ERR_CERT_REJECTED", `client certificate refused for renewal: ${err.message}`);
    throw err;
  }
}

export async function handleSign(deps: SignerDeps, req: SignRequestMsg, peer: X509Certificate | undefined): Promise<SignResponseMsg> {
  // Validate the CSR before touching the token, so a malformed request never burns it.
  const wanted = requestedId(req.csrPem);
  const proved = await proveIdentity(deps, req.bootstrapToken, peer);
  if (wanted !== proved.spiffeId) {
    throw new CaError("TSMESH_ERR_IDENTITY_MISMATCH", `CSR requests ${wanted} but the caller proved ${proved.spiffeId}`);
  }
  const meshTtl = await deps.meshTtlMs?.();
  const defaultTtl = meshTtl ?? deps.defaultTtlMs ?? DEFAULT_CERT_TTL_MS;
  const maxTtl = Math.max(deps.maxTtlMs ?? defaultTtl, meshTtl ?? 0);
  const ttlMs = req.ttlSeconds > 0 ? Math.min(req.ttlSeconds * 1000, maxTtl) : Math.min(defaultTtl, maxTtl);
  const m = deps.material();
  const signed = signCsr(m.issuer, req.csrPem, { spiffeId: proved.spiffeId, validityMs: ttlMs });
  const rec = { serial: signed.serial, spiffeId: proved.spiffeId, notAfter: signed.notAfter.toISOString(), issuedAt: new Date().toISOString(), via: proved.via };
  const ok = await recordIssued(deps.etcd, rec, signed.notAfter, proved.claim);
  if (!ok) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token is unknown, already used or expired");
  deps.certsIssued?.inc();
  deps.log?.info("certificate issued", { spiffeId: proved.spiffeId, serial: signed.serial, notAfter: rec.notAfter, via: proved.via });
  return {
    certChainPem: [signed.certPem, m.issuer.certPem],
    trustBundlePem: m.bundle,
    expiresAtUnixMs: signed.notAfter.getTime(),
    spiffeId: proved.spiffeId,
    serial: signed.serial,
  };
}
