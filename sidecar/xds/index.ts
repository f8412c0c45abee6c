// Config-push client of the sidecar: stream, validation, last-known-good.
export { XdsClient, type XdsClientOptions, type XdsClientEvents } from "./client.js";
export { loadLastKnownGood, saveLastKnownGood } from "./lkg.js";
export { validateResponse, SnapshotRejected } from "./validate.js";
export type { ClientTls } from "./channel.js";
export { parseControlPlanes } from "./addresses.js";
export { defaultCacheFile } from "./cache-file.js";
