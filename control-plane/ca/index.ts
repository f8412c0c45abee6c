// The control plane's certificate authority: CA files, CSR signing service, gRPC wiring.
export { CA_FILES, initCaDir, loadBundle, loadCaMaterial, type CaMaterial, type InitOptions } from "./files.js";
export { CaError, type CaErrorCode } from "./errors.js";
export { handleSign, proveIdentity, DEFAULT_CERT_TTL_MS, type SignerDeps } from "./signer.js";
export { registerCertificates } from "./grpc.js";
export { caPlugin, type CaPluginOptions } from "./plugin.js";
export { CaMaterialSlot } from "./material-slot.js";
export { createCaServerCredentials, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_SERVICE, type CaServerCredentials, type CaServerCredentialsOptions } from "./server-credentials.js";
export { getCertRecord, type CertRecord } from "./store.js";
export { inClusterTokenReviewer, kubeTokenReviewer, looksLikeJwt, TOKEN_AUDIENCE, type KubeTokenReviewerOptions, type ReviewedServiceAccount, type TokenReviewer } from "./token-review.js";
