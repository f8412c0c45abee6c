// Config push as a control-plane gRPC plugin: etcd watch -> MeshState -> snapshot cache ->
// Discovery.Stream to every sidecar on this replica. Takes the CA plugin's material (ctx.ca) for
// the trust bundle and to verify sidecars' client certificates, so it runs beside the CA plugin.
import { createControlPlaneMetrics } from "../../shared/metrics/index.js";
import type { ControlPlaneContext, GrpcPlugin } from "../plugins.js";
import { authenticate } from "./auth.js";
import { SnapshotCache } from "./cache.js";
import { registerDiscovery, type DiscoveryServer } from "./server.js";
import { DEFAULT_DEBOUNCE_MS, DEFAULT_REMOVAL_GRACE_MS, MeshSource } from "./source.js";
import { StatusWriter } from "./status.js";
import { TrustSource } from "./trust.js";

export interface PushPluginOptions {
  /** Coalescing window for etcd changes; default $TSMESH_PUSH_DEBOUNCE_MS or 100 ms. */
  debounceMs?: number;
  /** Default the control plane's (ctx.trustDomain). */
  trustDomain?: string;
  /** This replica's id in sidecar records; default the control plane's (ctx.replicaId). */
  replicaId?: string;
  /** Lease TTL of sidecar records and endpoint registrations; default $TSMESH_ENDPOINT_TTL_SECONDS or 10 s. */
  leaseTtlSeconds?: number;
  /** How often a trust bundle not yet written to etcd is tried again; default 30 s. */
  trustRetryMs?: number;
  /**
   * How long an endpoint that vanished without deregistering (lease expired, sidecar's stream
   * broke) is still pushed, so a re-registration within it is never seen as a removal; default
   * $TSMESH_ENDPOINT_REMOVAL_GRACE_MS or 5000 ms.
   */
  endpointRemovalGraceMs?: number;
}

/** A millisecond setting from the environment, refused loudly when it is not a number of milliseconds. */
function millisFromEnv(name: string, fallback: number): number {
  const raw = process.env[name] || undefined;
  if (raw === undefined) return fallback;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${name} must be milliseconds >= 0 (got "${raw}")`);
  return ms;
}

/** TSMESH_ENDPOINT_TTL_SECONDS: whole seconds >= 1 (an etcd lease's unit). */
function ttlFromEnv(): number {
  const raw = process.env.TSMESH_ENDPOINT_TTL_SECONDS || undefined;
  if (raw === undefined) return 10;
  const s = Number(raw);
  if (!Number.isInteger(s) || s < 1) throw new Error(`TSMESH_ENDPOINT_TTL_SECONDS must be whole seconds >= 1 (got "${raw}")`);
  return s;
}

interface Running {
  source: MeshSource;
  trust: TrustSource;
  status: StatusWriter;
  discovery: DiscoveryServer;
}

export interface PushHandle {
  cache: SnapshotCache;
  source: MeshSource;
  discovery: DiscoveryServer;
  replicaId: string;
}

export function pushPlugin(opts: PushPluginOptions = {}): GrpcPlugin & { handles: Map<ControlPlaneContext, PushHandle> } {
  const running = new Map<ControlPlaneContext, Running>();
  const handles = new Map<ControlPlaneContext, PushHandle>();
  const debounceMs = opts.debounceMs ?? millisFromEnv("TSMESH_PUSH_DEBOUNCE_MS", DEFAULT_DEBOUNCE_MS);
  const removalGraceMs = opts.endpointRemovalGraceMs ?? millisFromEnv("TSMESH_ENDPOINT_REMOVAL_GRACE_MS", DEFAULT_REMOVAL_GRACE_MS);

  return {
    name: "push",
    handles,
    async register(server, ctx) {
      const log = ctx.log.child({ component: "push" });
      const replicaId = opts.replicaId ?? ctx.replicaId;
      const metrics = createControlPlaneMetrics(ctx.metrics);
      // The control plane's tracer: MeshConfig tracing settings applied here hold for its API spans too.
      const tracing = ctx.tracing;
      const ttl = opts.leaseTtlSeconds ?? ttlFromEnv();
      const trustDomain = opts.trustDomain ?? ctx.trustDomain;
      const trust = new TrustSource({ ca: ctx.ca, etcd: ctx.store.etcd, retryMs: opts.trustRetryMs, log });
      await trust.start();
      const status = new StatusWriter(ctx.store.etcd, { ttlSeconds: ttl, log });
      const cache = new SnapshotCache({
        onRejected: (group, version, problems) => log.error("inconsistent snapshot not published", { code: "TSMESH_ERR_SNAPSHOT_INCONSISTENT", group, version, problems }),
      });
      const changedAt = new Map<string, number>();
      const discovery = registerDiscovery(server, {
        cache,
        replicaId,
        store: ctx.store,
        status,
        metrics,
        changedAt: (v) => changedAt.get(v),
        startSpan: (info) => tracing.startPush(info),
        authenticate: (der, node) => authenticate({ etcd: ctx.store.etcd, material: () => trust.current(), trustDomain }, der, node),
        endpointTtlSeconds: ttl,
        onConnectedChange: (n) => metrics.connectedSidecars.set(n),
        log,
      });
      let lastMesh = "";
      const source = new MeshSource({
        store: ctx.store,
        debounceMs,
        removalGraceMs,
        log,
        onState: (state, at) => {
          const version = String(state.revision);
          // Only the latest few versions can still be acked: keep the map small.
          changedAt.set(version, at);
          if (changedAt.size > 16) changedAt.delete(changedAt.keys().next().value!);
          cache.setState(state);
          const mesh = JSON.stringify(state.meshConfig?.spec.tracing ?? {});
          if (mesh !== lastMesh) {
            lastMesh = mesh;
            tracing.applyMeshConfig(state.meshConfig?.spec ?? {});
          }
          log.debug("new config version", { version, routes: state.routes.length, endpoints: state.endpoints.length });
          discovery.notify();
        },
      });
      // Do not hold the control plane's start hostage to etcd: the source keeps retrying.
      const started = source.start();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([started, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      running.set(ctx, { source, trust, status, discovery });
      handles.set(ctx, { cache, source, discovery, replicaId });
      log.info("config push ready", { replicaId, version: cache.version(), debounceMs });
    },
    drain() {
      // Streams end with UNAVAILABLE: sidecars reconnect to another replica right away.
      for (const r of running.values()) r.discovery.closeAll();
    },
    async close() {
      for (const r of running.values()) {
        r.discovery.closeAll();
        await r.source.stop();
        r.trust.stop();
        await r.status.stop();
      }
      running.clear();
      handles.clear();
    },
  };
}
