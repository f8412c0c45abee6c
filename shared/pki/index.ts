// X.509 for the mesh: anchors, issuers, CSRs, workload certificates, SPIFFE IDs, bundles.
export type { CertKeyPem, CaOptions } from "./ca.js";
export { createTrustAnchor, createIssuer } from "./ca.js";
export { issueTlsCert, type TlsCertOptions } from "./tls-cert.js";
export { generateKeyPair, generateKeyPairAsync, type KeyPairPem } from "./keys.js";
export { createCsr, parseCsr, csrSpiffeId, type ParsedCsr } from "./csr.js";
export { signCsr, type SignOptions, type SignedCert } from "./sign.js";
export { issueWorkloadCert, type WorkloadCert } from "./workload.js";
export { spiffeIdOf } from "./spiffe.js";
export { splitPemCerts, normalizeBundle } from "./bundle.js";
export { verifyWorkloadChain } from "./verify.js";
export { PkiError, type PkiErrorCode } from "./errors.js";
export { readTrustBundle } from "./bundle-file.js";
