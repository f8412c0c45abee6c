// Sidecar telemetry runtime: the tracer provider for this sidecar's service, driven by the
// dynamic MeshConfig (tracing.sampling, tracing.otlpEndpoint). Static: service and namespace.
import type { MeshConfigSpec } from "../../shared/schema/mesh-config.js";
import { createTracing, type Tracing, type TracingOptions } from "../../shared/tracing/provider.js";

export const DEFAULT_SAMPLING = 0.01;

export interface SidecarTelemetry extends Tracing {
  /** Apply a pushed MeshConfig; a bad value throws before anything changes. */
  applyMeshConfig(mc: Pick<MeshConfigSpec, "tracing">): void;
  /** shutdown() bounded in time so an unreachable collector cannot hold up exit. */
  close(timeoutMs?: number): Promise<void>;
}

export interface SidecarTelemetryOptions {
  service: string;
  namespace?: string;
  meshConfig?: Pick<MeshConfigSpec, "tracing">;
  /** Overrides MeshConfig's endpoint (flag/env TSMESH_OTLP_ENDPOINT); MeshConfig wins when set. */
  otlpEndpoint?: string;
  exporterFactory?: TracingOptions["exporterFactory"];
  batch?: TracingOptions["batch"];
}

export function startSidecarTelemetry(opts: SidecarTelemetryOptions): SidecarTelemetry {
  const fallbackEndpoint = opts.otlpEndpoint ?? process.env.TSMESH_OTLP_ENDPOINT;
  const tracing = createTracing({
    serviceName: opts.service,
    serviceNamespace: opts.namespace ?? "default",
    sampling: opts.meshConfig?.tracing?.sampling ?? DEFAULT_SAMPLING,
    otlpEndpoint: opts.meshConfig?.tracing?.otlpEndpoint ?? fallbackEndpoint,
    exporterFactory: opts.exporterFactory,
    batch: opts.batch,
  });
  return {
    ...tracing,
    applyMeshConfig(mc) {
      const sampling = mc.tracing?.sampling ?? DEFAULT_SAMPLING;
      const endpoint = mc.tracing?.otlpEndpoint ?? fallbackEndpoint;
      const before = tracing.sampling();
      tracing.setSampling(sampling);
      try {
        tracing.setEndpoint(endpoint);
      } catch (err) {
        tracing.setSampling(before);
        throw err;
      }
    },
    async close(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([tracing.shutdown().catch(() => undefined), timeout]);
      clearTimeout(timer);
    },
  };
}
