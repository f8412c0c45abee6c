// Public surface of the control-plane store.
export { Store, createStore, type StoreOptions, type RawKV } from "./store.js";
export { StoreUnavailableError, ConflictError, isUnavailable } from "./errors.js";
export type { WatchEvent, WatchHandle } from "./watch.js";
export type { Listed } from "./resources.js";
export type { EndpointRegistration } from "./endpoints.js";
export type { BootstrapToken, StoredToken } from "./tokens.js";
export { sha256Hex } from "./tokens.js";
export * from "./keys.js";
export { startEtcd, type EtcdProcess, type EtcdOptions } from "./embedded-etcd.js";
export { ETCD_CERT_FILES, ensureEtcdCerts, writeEtcdCertFiles, type EtcdCertSet, type EtcdClientTls } from "./etcd-certs.js";
