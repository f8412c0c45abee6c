// Sidecar bootstrap from the control plane: flags -> settings (flags.ts), then identity + config
// push for a started sidecar (connect.ts).
export { resolveBootstrap, parseLabels, BootstrapFlagError, type BootstrapFlags, type BootstrapSettings } from "./flags.js";
export { joinMesh, type JoinOptions, type MeshMembership } from "./connect.js";
