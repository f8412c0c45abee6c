// Sidecar workload identity: certificate from the control plane, renewal, expiry gauge.
export { WorkloadIdentity, CERT_EXPIRY_METRIC, type IdentityOptions, type IdentityState, type IdentityEvents } from "./manager.js";
export { callSign, controlPlaneCredentials, controlPlaneChannelOptions, CONTROL_PLANE_ID, type SignCallOptions } from "./client.js";
export { renewAt, backoffMs } from "./schedule.js";
export { identityCacheDir, loadIdentityCache, saveIdentityCache, type CacheLoad } from "./cert-cache.js";
