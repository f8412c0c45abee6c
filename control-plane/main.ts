// The control-plane process: etcd (embedded or external) -> store -> REST API -> gRPC port with
// its plugins. startControlPlane() is what `tsmesh control-plane` and the tests call.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { DEFAULT_TRUST_DOMAIN } from "../shared/identity.js";
import { createLogger, type Logger } from "../shared/log.js";
import { CaMaterialSlot } from "./ca/material-slot.js";
import { AdminAuth, createApiMetrics, createApiServer, listen } from "./api/index.js";
import { DEFAULT_GRPC_PLUGINS, type ControlPlaneContext, type GrpcPlugin } from "./plugins.js";
import { createStore, ensureEtcdCerts, startEtcd, type EtcdClientTls, type EtcdProcess, type Store } from "./store/index.js";
import { bindError, lockDataDir } from "./startup-errors.js";
import { createControlPlaneTracing } from "./telemetry/index.js";

export interface ControlPlaneOptions {
  /**
   * External etcd client URLs; without them an embedded etcd runs in <dataDir>/etcd, serving TLS
   * with client-certificate auth from <dataDir>/etcd-tls.
   */
  etcd?: string[];
  /** TLS towards the external etcd (CA, client certificate and key). */
  etcdTls?: EtcdClientTls;
  /** Default 15000; 0 picks a free port. */
  apiPort?: number;
  /** Default 15012; 0 picks a free port. */
  grpcPort?: number;
  /** Listen address of both ports; default 127.0.0.1. */
  host?: string;
  /** Default ./.tsmesh */
  dataDir?: string;
  /** Admin API token; when absent one is generated (hash in etcd, plaintext in <dataDir>/admin-token). */
  token?: string;
  /** Default DEFAULT_GRPC_PLUGINS. */
  plugins?: GrpcPlugin[];
  log?: Logger;
}

export interface ControlPlane {
  apiPort: number;
  grpcPort: number;
  store: Store;
  etcdEndpoints: string[];
  dataDir: string;
  /** Admin token file (only written when the token was generated here). */
  adminTokenFile: string;
  close(): Promise<void>;
}

async function startGrpc(plugins: GrpcPlugin[], ctx: ControlPlaneContext, host: string, port: number) {
  const server = new grpc.Server();
  const withCreds = plugins.filter((p) => p.credentials);
  if (withCreds.length > 1) throw new Error(`several gRPC plugins provide credentials: ${withCreds.map((p) => p.name).join(", ")}`);
  const credentials = withCreds[0] ? await withCreds[0].credentials!(ctx) : grpc.ServerCredentials.createInsecure();
  for (const p of plugins) await p.register(server, ctx);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (err, actual) => (err ? reject(err) : resolve(actual))),
  );
  return { server, port: bound };
}

function shutdownGrpc(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? createLogger("control-plane");
  const host = opts.host ?? "127.0.0.1";
  const dataDir = path.resolve(opts.dataDir ?? ".tsmesh");
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((err: unknown) => log.warn("shutdown step failed", { err: err as Error }));
  };
  try {
    let etcdEndpoints = opts.etcd ?? [];
    let etcdTls = opts.etcdTls;
    if (etcdEndpoints.length === 0) {
      const unlock = lockDataDir(dataDir);
      cleanups.push(unlock);
      const tls = await ensureEtcdCerts(path.join(dataDir, "etcd-tls"));
      const etcd: EtcdProcess = await startEtcd({ dataDir: path.join(dataDir, "etcd"), tls });
      cleanups.push(() => etcd.stop());
      etcdEndpoints = [etcd.endpoint];
      etcdTls = etcd.clientTls;
      log.info("embedded etcd started", { endpoint: etcd.endpoint, dataDir: etcd.dataDir, tls: path.dirname(tls.caFile) });
    } else if (!etcdTls?.certPem) {
      // Whoever can write to etcd can write a bootstrap token, and so get any identity.
      log.warn("etcd is used without a client certificate: anyone who can reach it can mint identities (use https:// URLs with --etcd-ca, --etcd-cert, --etcd-key)", { etcd: etcdEndpoints });
    }

    const metrics = createApiMetrics();
    const store = createStore({ endpoints: etcdEndpoints, tls: etcdTls, onUnavailable: (op) => metrics.etcdErrors.inc({ op }) });
    cleanups.push(() => store.close());

    const auth = new AdminAuth(store, { token: opts.token, dataDir }, log);
    // Resolved lazily per request if etcd is not reachable yet; never fatal.
    await auth.init().catch((err: unknown) => log.warn("admin token not initialised yet (etcd unreachable)", { err: err as Error }));

    const replicaId = process.env.TSMESH_REPLICA_ID || `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    // API-write and config-push spans; exported only once TSMESH_OTLP_ENDPOINT or MeshConfig names an endpoint (a no-op otherwise).
    const tracing = createControlPlaneTracing({ instanceId: replicaId, log: log.child({ component: "tracing" }) });
    cleanups.push(() => tracing.shutdown());
    const api = createApiServer({ store, auth, metrics, tracing, log: log.child({ component: "api" }) });
    const apiPort = await listen(api, opts.apiPort ?? 15000, host).catch((err: unknown) => bindError(err, opts.apiPort ?? 15000, "--api-port"));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          api.close(() => resolve());
          api.closeAllConnections();
        }),
    );

    const trustDomain = process.env.TSMESH_TRUST_DOMAIN || DEFAULT_TRUST_DOMAIN;
    const ctx: ControlPlaneContext = { store, log, dataDir, etcdEndpoints, metrics: metrics.registry, replicaId, tracing, trustDomain, ca: new CaMaterialSlot() };
    const plugins = opts.plugins ?? DEFAULT_GRPC_PLUGINS;
    for (const p of plugins) if (p.close) cleanups.push(() => p.close!());
    const grpcServer = await startGrpc(plugins, ctx, host, opts.grpcPort ?? 15012).catch((err: unknown) => bindError(err, opts.grpcPort ?? 15012, "--grpc-port"));
    cleanups.push(async () => {
      for (const p of plugins) await Promise.resolve(p.drain?.()).catch((err: unknown) => log.warn("plugin drain failed", { plugin: p.name, err: err as Error }));
      await shutdownGrpc(grpcServer.server, 5000);
    });

    log.info("control plane ready", { apiPort, grpcPort: grpcServer.port, etcd: etcdEndpoints });
    return { apiPort, grpcPort: grpcServer.port, store, etcdEndpoints, dataDir, adminTokenFile: auth.tokenFile, close };
  } catch (err) {
    await close();
    throw err;
  }
}
