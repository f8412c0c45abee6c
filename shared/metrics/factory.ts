// Creates every tsmesh metric on an explicit prom-client Registry (no global registry: several
// sidecars or a sidecar and a control plane may share one test process). Idempotent per
// registry: a metric another part already registered under the same name is reused, so the
// identity code may create tsmesh_cert_expiry_seconds itself without a clash.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_LABELS, LATENCY_BUCKETS, METRIC, REQUEST_LABELS } from "./names.js";

type Ctor<M> = new (cfg: never) => M;

function getOrCreate<M>(registry: Registry, name: string, ctor: Ctor<M>, cfg: object): M {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) {
    if (!(existing instanceof ctor)) {
      throw new Error(`TSMESH_ERR_METRIC_TYPE: ${name} is already registered as a different metric type`);
    }
    return existing;
  }
  return new ctor({ ...cfg, name, registers: [registry] } as never);
}

export interface SidecarMetrics {
  requests: Counter<(typeof REQUEST_LABELS)[number]>;
  requestDuration: Histogram<(typeof DURATION_LABELS)[number]>;
  retries: Counter<"destination" | "route">;
  circuitOpen: Gauge<"destination">;
  outlierEjections: Counter<"destination">;
  configVersion: Gauge;
  certExpiry: Gauge;
}

/** Values read at scrape time rather than pushed on every change. */
export interface SidecarMetricSources {
  /** Circuit state per destination (sidecar/filters/circuit-breaker openStates()). */
  circuitStates?: () => Iterable<{ destination: string; open: boolean }>;
}

export function createSidecarMetrics(registry: Registry, sources: SidecarMetricSources = {}): SidecarMetrics {
  return {
    requests: getOrCreate(registry, METRIC.requests, Counter, {
      help: "Requests handled by the sidecar, by direction, source and destination service, route and status code",
      labelNames: REQUEST_LABELS,
    }),
    requestDuration: getOrCreate(registry, METRIC.requestDuration, Histogram, {
      help: "Time from request received to response body end, in seconds",
      labelNames: DURATION_LABELS,
      buckets: LATENCY_BUCKETS,
    }),
    retries: getOrCreate(registry, METRIC.retries, Counter, {
      help: "Retry attempts made (first tries not counted)",
      labelNames: ["destination", "route"],
    }),
    circuitOpen: getOrCreate(registry, METRIC.circuitOpen, Gauge, {
      help: "1 while a destination's connection-pool limits reject requests, else 0",
      labelNames: ["destination"],
      collect(this: Gauge<"destination">) {
        for (const s of sources.circuitStates?.() ?? []) this.set({ destination: s.destination }, s.open ? 1 : 0);
      },
    }),
    outlierEjections: getOrCreate(registry, METRIC.outlierEjections, Counter, {
      help: "Endpoints ejected by outlier detection",
      labelNames: ["destination"],
    }),
    configVersion: getOrCreate(registry, METRIC.configVersion, Gauge, {
      help: "Version of the config snapshot the sidecar serves from",
    }),
    certExpiry: getOrCreate(registry, METRIC.certExpiry, Gauge, {
      help: "Seconds until the workload certificate expires",
    }),
  };
}

export interface ControlPlaneMetrics {
  pushes: Counter<"result">;
  pushLatency: Histogram;
  connectedSidecars: Gauge;
  certsIssued: Counter;
  etcdErrors: Counter<"op">;
}

export function createControlPlaneMetrics(registry: Registry): ControlPlaneMetrics {
  return {
    pushes: getOrCreate(registry, METRIC.cpPushes, Counter, {
      help: "Config pushes to sidecars by result (ack, nack, error)",
      labelNames: ["result"],
    }),
    pushLatency: getOrCreate(registry, METRIC.cpPushLatency, Histogram, {
      help: "Time from a store change to the sidecar's ack, in seconds",
      buckets: LATENCY_BUCKETS,
    }),
    connectedSidecars: getOrCreate(registry, METRIC.cpConnectedSidecars, Gauge, {
      help: "Sidecars with an open config stream to this control plane instance",
    }),
    certsIssued: getOrCreate(registry, METRIC.cpCertsIssued, Counter, {
      help: "Workload certificates signed",
    }),
    etcdErrors: getOrCreate(registry, METRIC.cpEtcdErrors, Counter, {
      help: "etcd calls that failed (etcd unreachable or erroring), by store operation",
      labelNames: ["op"],
    }),
  };
}

/** Config versions are opaque strings, numeric in practice (etcd revision); NaN otherwise. */
export function setConfigVersion(metrics: Pick<SidecarMetrics, "configVersion">, version: string): void {
  metrics.configVersion.set(Number(version));
}
