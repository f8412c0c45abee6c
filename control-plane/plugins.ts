// Extension point of the control-plane process: pieces served on the gRPC port (CA signing,
// config push, ...) plug in here instead of editing startControlPlane.
//
// >>> To add a piece: write a GrpcPlugin and append it to DEFAULT_GRPC_PLUGINS below. <<<
import type * as grpc from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import type { Logger } from "../shared/log.js";
import type { CaMaterialSlot } from "./ca/material-slot.js";
import type { ControlPlaneTracing } from "./telemetry/tracing.js";
import type { Store } from "./store/index.js";
import { caPlugin } from "./ca/plugin.js";
import { pushPlugin } from "./push/plugin.js";

/** What a plugin gets from the running control plane. */
export interface ControlPlaneContext {
  store: Store;
  log: Logger;
  /** The control plane's data dir (embedded etcd, admin-token, CA files). */
  dataDir: string;
  etcdEndpoints: string[];
  /** The control plane's Prometheus registry (served on the API port's /metrics). */
  metrics: Registry;
  /** This replica's id: $TSMESH_REPLICA_ID or <hostname>-<pid>-<random>. */
  replicaId: string;
  /** The control plane's one tracer (API writes, config pushes); MeshConfig tracing settings apply to it. */
  tracing: ControlPlaneTracing;
  /** SPIFFE trust domain: $TSMESH_TRUST_DOMAIN or cluster.local (a plugin option may override it). */
  trustDomain: string;
  /** The CA material: set by the CA plugin, read by others (config push). */
  ca: CaMaterialSlot;
}

export interface GrpcPlugin {
  name: string;
  /**
   * Server credentials for the whole gRPC port (e.g. the CA's serving certificate). At most one
   * plugin may provide them; without any the port is plaintext (tests, local development).
   */
  credentials?(ctx: ControlPlaneContext): grpc.ServerCredentials | Promise<grpc.ServerCredentials>;
  /** Adds services to the server before it binds; may start background work (watches). */
  register(server: grpc.Server, ctx: ControlPlaneContext): void | Promise<void>;
  /**
   * First step of shutdown, just before the server's graceful shutdown: end long-lived calls
   * (e.g. config streams, with UNAVAILABLE) so clients move to another replica at once instead of
   * the shutdown waiting out its grace period on them.
   */
  drain?(): void | Promise<void>;
  /** Stops background work on shutdown, after the server stopped accepting calls. */
  close?(): void | Promise<void>;
}

/** Plugins every `tsmesh control-plane` runs, in order. One line per plugin. */
export const DEFAULT_GRPC_PLUGINS: GrpcPlugin[] = [
  caPlugin(),
  pushPlugin(),
  // e.g. caPlugin(), pushPlugin()
];
