// Config push: pure translation (state -> snapshot), snapshot cache, etcd source, gRPC stream.
export { buildSnapshot, checkSnapshot, reachableServices } from "./translate.js";
export { stateFromKvs, isRelevantKey, type MeshState, type KV } from "./state.js";
export { SnapshotCache, type CachedSnapshot } from "./cache.js";
export { MeshSource, DEFAULT_DEBOUNCE_MS, type MeshSourceOptions } from "./source.js";
export { StatusWriter, type SidecarRecord } from "./status.js";
export { registerDiscovery, type DiscoveryServer } from "./server.js";
export { pushPlugin, type PushPluginOptions, type PushHandle } from "./plugin.js";
export { PushError, type PushErrorCode } from "./errors.js";
