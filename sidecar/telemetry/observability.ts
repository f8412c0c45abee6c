// Everything observability a sidecar needs, built once from static settings and driven by the
// dynamic MeshConfig. Listeners compose the returned layers:
//   inbound:  compose(...obs.inbound, <authz ...>)(app)
//   outbound: compose(...obs.outbound, <route, split, breaker>, retry, obs.attempt, <balancer ...>)
import type { Registry } from "prom-client";
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import { createLogger, type Logger } from "../../shared/log.js";
import { serviceKey } from "../../shared/service-key.js";
import {
  createSidecarMetrics,
  setConfigVersion,
  type SidecarMetricSources,
  type SidecarMetrics,
} from "../../shared/metrics/index.js";
import type { MeshConfigSpec } from "../../shared/schema/mesh-config.js";
import type { Middleware } from "../core/handler.js";
import { createAccessLog, type AccessLog } from "../filters/access-log/layer.js";
import { metricsLayer } from "../filters/metrics/layer.js";
import { inboundTracingLayer } from "../filters/tracing/inbound.js";
import { outboundRequestTracingLayer, outboundTracingLayer } from "../filters/tracing/outbound.js";
import { startSidecarTelemetry, type SidecarTelemetry, type SidecarTelemetryOptions } from "./index.js";

export interface ObservabilityOptions extends Omit<SidecarTelemetryOptions, "meshConfig"> {
  /** The registry the admin listener serves on /metrics. */
  registry: Registry;
  meshConfig?: Partial<MeshConfigSpec>;
  /** Access-log sink (stdout by default). */
  writeAccessLog?: (line: string) => void;
  /** Diagnostics (rejected settings); default a "telemetry" logger on stderr. */
  log?: Logger;
  /** Circuit state for tsmesh_circuit_open, read at scrape time. */
  circuitStates?: SidecarMetricSources["circuitStates"];
}

export interface Observability {
  telemetry: SidecarTelemetry;
  metrics: SidecarMetrics;
  accessLog: AccessLog;
  /** First layers of the inbound stack: access log, metrics, SERVER span. */
  inbound: Middleware[];
  /** First layers of the outbound stack: access log, metrics, per-request span. */
  outbound: Middleware[];
  /** Directly under the retry layer: CLIENT span per attempt. */
  attempt: Middleware;
  /**
   * On every accepted snapshot. Never throws: bad tracing settings are logged and the previous
   * ones kept, so telemetry cannot block a config update.
   */
  applySnapshot(snap: { version: string; meshConfig: Partial<MeshConfigSpec> }): void;
  /** Flush spans (bounded) on shutdown. */
  close(timeoutMs?: number): Promise<void>;
}

export function createObservability(opts: ObservabilityOptions): Observability {
  const { registry, meshConfig, writeAccessLog, circuitStates, log: _log, ...telemetryOpts } = opts;
  const telemetry = startSidecarTelemetry({ ...telemetryOpts, meshConfig });
  const metrics = createSidecarMetrics(registry, { circuitStates });
  const accessLog = createAccessLog({ service: opts.service, meshConfig, write: writeAccessLog });
  const tracer = telemetry.tracer;
  const log = opts.log ?? createLogger("telemetry").child({ service: opts.service });
  // Metric labels name services as "<namespace>/<service>", as routing does.
  const self = serviceKey(opts.namespace ?? DEFAULT_NAMESPACE, opts.service);
  return {
    telemetry,
    metrics,
    accessLog,
    inbound: [
      accessLog.layer("inbound"),
      metricsLayer({ metrics, direction: "inbound", service: self }),
      inboundTracingLayer({ tracer, service: opts.service }),
    ],
    outbound: [
      accessLog.layer("outbound"),
      metricsLayer({ metrics, direction: "outbound", service: self }),
      outboundRequestTracingLayer({ tracer }),
    ],
    attempt: outboundTracingLayer({ tracer }),
    applySnapshot(snap) {
      try {
        telemetry.applyMeshConfig(snap.meshConfig);
      } catch (err) {
        log.warn("tracing settings rejected, keeping the previous ones", {
          code: "TSMESH_ERR_TRACING_CONFIG",
          version: snap.version,
          error: (err as Error).message,
        });
      }
      accessLog.configure(snap.meshConfig);
      setConfigVersion(metrics, snap.version);
    },
    close: (timeoutMs) => telemetry.close(timeoutMs),
  };
}
