// A sidecar: inbound (15006, mTLS) and outbound (15001, plain from the app) listeners with their
// stacks, admin (15020). Three kinds of settings kept apart: static options (here), runtime
// (registry, logger, TLS identity, drain) and dynamic config (a watchable Snapshot whose change
// rebuilds routing state). Identity rotation and config push only call `identity.set()` and
// `config.set()`.
import { collectDefaultMetrics, Registry } from "prom-client";
import { DEFAULT_NAMESPACE, parseSpiffeId } from "../shared/identity.js";
import { createLogger, type Logger } from "../shared/log.js";
import { serviceKey } from "../shared/service-key.js";
import type { Snapshot } from "../shared/snapshot.js";
import { AppHealth } from "./admin/app-probe.js";
import type { AppProber } from "./admin/app-probers.js";
import { createAdminServer, listenAdmin } from "./admin/server.js";
import { buildTlsState, certMetadata, type TlsMaterial, type TlsState } from "./config/tls-material.js";
import { Watchable } from "./config/watchable.js";
import { authzLayer } from "./filters/authz/layer.js";
import { CircuitBreakers } from "./filters/circuit-breaker/breakers.js";
import { PASSTHROUGH_ROUTE } from "./filters/route/layer.js";
import { RetryBudgets } from "./filters/retry/budget.js";
import { createAppClient } from "./inbound/app-client.js";
import { buildInboundStack } from "./inbound/stack.js";
import { MeshListener } from "./listener/server.js";
import { outboundConnect } from "./outbound/connect.js";
import { EgressClients, PASSTHROUGH_CLUSTER } from "./outbound/egress.js";
import { IdleScavenger } from "./memory/idle-scavenger.js";
import { buildOutboundStack } from "./outbound/stack.js";
import { buildOutboundState, EMPTY_ENDPOINTS, type OutboundState } from "./outbound/state.js";
import { createObservability } from "./telemetry/observability.js";
import { LoadTracker } from "./upstream/balancer/load.js";
import { PickerCache } from "./upstream/balancer/pickers.js";
import { createDefaultBalancerRegistry } from "./upstream/balancer/registry.js";
import { OutlierDetectors } from "./upstream/outlier/detectors.js";
import { EndpointPools } from "./upstream/pools.js";

export interface SidecarOptions {
  service: string;
  /** Namespace of this workload's identity (default "default"): where short service names resolve. */
  namespace?: string;
  appPort: number;
  appHost?: string;
  inboundPort?: number;
  outboundPort?: number;
  adminPort?: number;
  /** Address for inbound and admin (default 0.0.0.0: peers and probes come from outside). */
  bind?: string;
  /** Address for outbound (default 127.0.0.1: only the local app talks to it). */
  outboundBind?: string;
  snapshot?: Snapshot;
  tls?: TlsMaterial;
  /** How long a drain waits for in-flight requests (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * How long a drain keeps accepting after it deregistered, so the removal reaches every peer's
   * config before the listeners close (Istio's terminationDrainDuration; default 5 s).
   */
  drainDurationMs?: number;
  log?: Logger;
  /** Default: a new one with the process metrics (sidecarRegistry). */
  registry?: Registry;
  /** Access log, metrics and tracing layers (default true); false measures the bare data path. */
  observability?: boolean;
  /** Called after POST /quit finished draining (the CLI exits the process). */
  onQuit?: () => void;
  /**
   * A young-generation GC (shared/sidecar-node-options.ts minorGc) to run when no request is in
   * flight (sidecar/memory/idle-scavenger.ts). Given by the process that owns the heap.
   */
  scavengeWhenIdle?: () => void;
  /** The app's own probes served at /app-health/* on the admin port (admin/app-probers.ts). */
  appProbers?: Map<string, AppProber>;
}

export interface Sidecar {
  readonly ports: { inbound: number; outbound: number; admin: number };
  /** Dynamic config: set() a new Snapshot to reconfigure without dropping requests. */
  readonly config: Watchable<Snapshot>;
  /** TLS identity: set() new material on rotation; new connections use it. */
  readonly identity: Watchable<TlsMaterial>;
  readonly registry: Registry;
  ready(): boolean;
  /**
   * Deregister (onDrain hooks), keep accepting for `drainDurationMs` while peers learn of it,
   * then stop accepting, finish in-flight requests up to the deadline, close. True if none was cut.
   */
  drain(deadlineMs?: number, drainDurationMs?: number): Promise<boolean>;
  /** Runs `fn` first when a drain starts (joinMesh: deregister from the control plane). */
  onDrain(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

/**
 * A registry with the process's own metrics too (prom-client's defaults, as the control plane
 * has them): resident memory, CPU seconds, heap spaces, GC pauses by kind, event-loop delay, so
 * a sidecar's cost shows where its traffic does, as linkerd2-proxy's process_* metrics do. The
 * event-loop delay is sampled once a second, not every 10 ms: at 1,000 rps through a sidecar
 * pair the 10 ms sampler cost 10-15% more CPU in the lab, the 1 s one nothing measurable.
 */
function sidecarRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tsmesh_sidecar_", eventLoopMonitoringPrecision: 1000 });
  return registry;
}

export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const log = opts.log ?? createLogger("sidecar").child({ service: opts.service });
  const registry = opts.registry ?? sidecarRegistry();
  const config = new Watchable<Snapshot>();
  const identity = new Watchable<TlsMaterial>();
  const drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
  const drainDurationMs = opts.drainDurationMs ?? 5000;
  const drainHooks: (() => Promise<void>)[] = [];

  let tlsState: TlsState | undefined;
  let outbound: OutboundState = buildOutboundState({
    version: "",
    meshConfig: { trustDomain: "cluster.local", mtls: "STRICT", logLevel: "info" },
    routes: [],
    policies: [],
    authz: [],
    endpoints: {},
    trustBundle: [],
  }, namespace);

  const obs = createObservability({ service: opts.service, namespace, registry, circuitStates: () => breakers.openStates() });
  const load = new LoadTracker();
  const detectors = new OutlierDetectors((e) => {
    obs.metrics.outlierEjections.inc({ destination: e.service });
    log.warn("endpoint ejected", { destination: e.service, endpoint: e.address, times: e.times, durationMs: e.durationMs });
  });
  const breakers = new CircuitBreakers();
  const budgets = new RetryBudgets();
  const pickers = new PickerCache({
    registry: createDefaultBalancerRegistry(),
    endpointsOf: (service) => outbound.endpoints.get(service) ?? EMPTY_ENDPOINTS,
    load,
    isEjected: detectors.isEjected,
  });
  const pools = new EndpointPools(() => tlsState);
  const egress = new EgressClients();
  const app = createAppClient(opts.appPort, opts.appHost);

  const rebuildTls = () => {
    const material = identity.get();
    if (!material) return;
    tlsState = buildTlsState(material, config.get()?.trustBundle ?? []);
    log.info("TLS identity installed", { spiffeId: tlsState.spiffeId, notAfter: tlsState.notAfter.toISOString() });
    const proved = parseSpiffeId(tlsState.spiffeId)?.namespace;
    if (proved !== undefined && proved !== namespace) {
      log.warn("the certificate's namespace is not this sidecar's; start it with --namespace " + proved, {
        code: "TSMESH_ERR_NAMESPACE_MISMATCH",
        spiffeId: tlsState.spiffeId,
        namespace,
      });
    }
  };
  identity.subscribe(rebuildTls);
  config.subscribe((snap, prev) => {
    const next = buildOutboundState(snap, namespace, outbound.meshServices);
    try {
      obs.applySnapshot(snap);
    } catch (err) {
      // Telemetry settings are not worth refusing routing config over: keep the old ones.
      log.warn("telemetry settings of the new config rejected", { version: snap.version, error: (err as Error).message });
    }
    outbound = next;
    pools.retain(next.poolKeys);
    pickers.retain(next.concretes);
    for (const [service, eps] of next.endpoints) detectors.setEndpoints(service, eps.map((e) => e.address));
    log.setLevel(snap.meshConfig.logLevel);
    if (prev && JSON.stringify(prev.trustBundle) !== JSON.stringify(snap.trustBundle)) {
      try {
        rebuildTls();
      } catch (err) {
        log.error("trust bundle of the new config rejected, keeping the current TLS context", { version: snap.version, error: (err as Error).message });
      }
    }
    log.info("config applied", { version: snap.version, routes: snap.routes.length, services: next.endpoints.size });
  });

  // One answer, for requests and CONNECT tunnels alike, to "is this host in the mesh?".
  const meshOrEgress = {
    isMeshService: (service: string) => outbound.meshServices.has(service),
    mode: () => outbound.egress,
  };
  const outboundHandler = buildOutboundStack({
    routeTable: () => outbound.routeTable,
    policyOf: (service) => outbound.policies.get(service),
    breakers,
    budgets,
    pickers,
    load,
    detectors,
    pools,
    egress: { ...meshOrEgress, clients: egress },
    observe: opts.observability === false ? [] : obs.outbound,
    observeAttempt: opts.observability === false ? undefined : obs.attempt,
  });
  const inboundHandler = buildInboundStack({
    app: app.handler,
    ownIdentity: () => tlsState?.spiffeId,
    authz: authzLayer(() => config.get()?.authz ?? [], opts.service, namespace),
    observe: opts.observability === false ? [] : obs.inbound,
  });

  const scavenger = opts.scavengeWhenIdle
    ? new IdleScavenger({ scavenge: opts.scavengeWhenIdle, busy: (): boolean => inboundListener.inflight.size + outboundListener.inflight.size > 0 })
    : undefined;
  const onIdle = scavenger && (() => scavenger.notify());
  const escapedSlashes = () => config.get()?.meshConfig.pathNormalization?.escapedSlashes ?? "REJECT";
  const bind = opts.bind ?? "0.0.0.0";
  const inboundListener = new MeshListener({
    name: "inbound",
    host: bind,
    port: opts.inboundPort ?? 15006,
    handler: inboundHandler,
    log,
    tls: { state: () => tlsState, mode: () => config.get()?.meshConfig.mtls ?? "STRICT" },
    escapedSlashes,
    onIdle,
  });
  const outboundListener = new MeshListener({
    name: "outbound",
    host: opts.outboundBind ?? "127.0.0.1",
    port: opts.outboundPort ?? 15001,
    handler: outboundHandler,
    log,
    escapedSlashes,
    onIdle,
    connect: outboundConnect({
      routeTable: () => outbound.routeTable,
      ...meshOrEgress,
      // Labelled as egress requests are (egress.ts, metrics layer): source "<namespace>/<service>",
      // destination PassthroughCluster, so external hosts do not grow the label set.
      onEgress:
        opts.observability === false
          ? undefined
          : (status) => obs.metrics.requests.inc({ direction: "outbound", source: serviceKey(namespace, opts.service), destination: PASSTHROUGH_CLUSTER, route: PASSTHROUGH_ROUTE, code: String(status) }),
    }),
  });

  const notReady = () => {
    const reasons: string[] = [];
    if (!tlsState) reasons.push("no workload certificate");
    if (!config.get()) reasons.push("no config");
    if (closing) reasons.push("draining");
    return reasons;
  };

  let closing: Promise<boolean> | undefined;
  const drain = (deadlineMs = drainTimeoutMs, keepAcceptingMs = drainDurationMs): Promise<boolean> => {
    closing ??= (async () => {
      log.info("draining", { deadlineMs, drainDurationMs: keepAcceptingMs, inflight: inboundListener.inflight.size + outboundListener.inflight.size });
      await Promise.all(drainHooks.map((fn) => fn().catch((err: unknown) => log.warn("deregistration failed; peers drop this instance when its registration expires", { err: err as Error }))));
      // Peers keep sending until the removal is in their config: accepting on meanwhile, a
      // request that arrives is served instead of refused.
      if (keepAcceptingMs > 0) await new Promise((resolve) => setTimeout(resolve, keepAcceptingMs));
      const [a, b] = await Promise.all([inboundListener.drain(deadlineMs), outboundListener.drain(deadlineMs)]);
      await new Promise<void>((resolve) => admin.close(() => resolve()));
      admin.closeAllConnections();
      await Promise.all([pools.close(), egress.close(), app.close(), obs.close(1000)]);
      log.info("drained", { complete: a && b });
      return a && b;
    })();
    return closing;
  };

  const admin = createAdminServer({
    registry,
    notReady,
    configDump: () => ({ service: opts.service, namespace, ready: notReady().length === 0, snapshot: config.get() ?? null, certificate: certMetadata(tlsState) }),
    quit: () => {
      void drain().then(() => opts.onQuit?.());
    },
    appHealth: new AppHealth(opts.appProbers ?? new Map(), opts.appHost),
  });

  if (opts.tls) identity.set(opts.tls);
  if (opts.snapshot) config.set(opts.snapshot);

  const ports = {
    inbound: await inboundListener.listen(),
    outbound: await outboundListener.listen(),
    admin: await listenAdmin(admin, opts.adminPort ?? 15020, bind),
  };
  log.info("sidecar listening", { ...ports, appPort: opts.appPort });

  return {
    ports,
    config,
    identity,
    registry,
    ready: () => notReady().length === 0,
    drain,
    onDrain: (fn) => {
      drainHooks.push(fn);
    },
    close: async () => {
      await drain(0, 0);
    },
  };
}
