// Control-plane spans: one SERVER span per API write (continuing the caller's traceparent/B3
// when sent), one PRODUCER span per config push from send to ack/nack. Export goes to
// TSMESH_OTLP_ENDPOINT (flag/env) or MeshConfig.tracing.otlpEndpoint; without an endpoint the
// helpers run the callback with a no-op span and cost nothing.
import { SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from "@opentelemetry/semantic-conventions";
import { createLogger, type Logger } from "../../shared/log.js";
import type { PushResult } from "../../shared/metrics/names.js";
import type { MeshConfigSpec } from "../../shared/schema/mesh-config.js";
import { extractContext, type Headers } from "../../shared/tracing/propagation.js";
import { createTracing, type Tracing, type TracingOptions } from "../../shared/tracing/provider.js";

export const CONTROL_PLANE_SERVICE = "tsmesh-control-plane";

export interface ApiWriteInfo {
  /** PUT, DELETE, POST */
  method: string;
  /** Route pattern, e.g. /api/v1/routes/{name} */
  route: string;
  kind?: string;
  name?: string;
  /** Request headers: a traceparent/b3 there makes this span its child. */
  headers?: Headers;
}

export interface PushInfo {
  /** Sidecar instance id. */
  sidecar: string;
  service?: string;
  version: string;
}

export interface PushSpan {
  end(result: PushResult, err?: unknown): void;
}

export interface ControlPlaneTracing {
  readonly tracer: Tracer;
  /** Runs fn inside a SERVER span; a returned number/{status} is recorded as the status code. */
  traceApiWrite<T>(info: ApiWriteInfo, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Starts a push span; call end() on ack, nack or stream error. */
  startPush(info: PushInfo): PushSpan;
  /** Never throws: a bad setting is logged and the previous one kept (pushes must go on). */
  applyMeshConfig(mc: Pick<MeshConfigSpec, "tracing">): void;
  shutdown(): Promise<void>;
}

export interface ControlPlaneTracingOptions {
  /** OTLP/HTTP traces URL; default env TSMESH_OTLP_ENDPOINT. */
  endpoint?: string;
  /** Root sampling ratio; API writes and pushes are rare, so all are kept by default. */
  sampling?: number;
  instanceId?: string;
  exporterFactory?: TracingOptions["exporterFactory"];
  log?: Logger;
}

function statusOf(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  const s = (v as { status?: unknown } | null | undefined)?.status;
  return typeof s === "number" ? s : undefined;
}

function fail(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  if (err instanceof Error) span.recordException(err);
}

export function createControlPlaneTracing(opts: ControlPlaneTracingOptions = {}): ControlPlaneTracing {
  const log = opts.log ?? createLogger("tracing").child({ service: CONTROL_PLANE_SERVICE });
  const tracing: Tracing = createTracing({
    serviceName: CONTROL_PLANE_SERVICE,
    serviceNamespace: "tsmesh-system",
    sampling: opts.sampling ?? 1,
    otlpEndpoint: opts.endpoint ?? process.env.TSMESH_OTLP_ENDPOINT,
    exporterFactory: opts.exporterFactory,
    attributes: opts.instanceId ? { "service.instance.id": opts.instanceId } : undefined,
    log,
  });
  const active = () => tracing.endpoint() !== undefined;
  const noop = trace.wrapSpanContext({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 });
  const fallback = opts.endpoint ?? process.env.TSMESH_OTLP_ENDPOINT;

  return {
    tracer: tracing.tracer,
    async traceApiWrite(info, fn) {
      if (!active()) return fn(noop);
      const parent = info.headers ? extractContext(info.headers) : undefined;
      const span = tracing.tracer.startSpan(
        `${info.method} ${info.route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: info.method,
            [ATTR_HTTP_ROUTE]: info.route,
            ...(info.kind ? { "tsmesh.resource.kind": info.kind } : {}),
            ...(info.name ? { "tsmesh.resource.name": info.name } : {}),
          },
        },
        parent,
      );
      try {
        const out = await fn(span);
        const status = statusOf(out);
        if (status !== undefined) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return out;
      } catch (err) {
        fail(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
    startPush(info) {
      if (!active()) return { end: () => undefined };
      const span = tracing.tracer.startSpan("config push", {
        kind: SpanKind.PRODUCER,
        attributes: {
          "tsmesh.sidecar": info.sidecar,
          "tsmesh.config.version": info.version,
          ...(info.service ? { "tsmesh.service": info.service } : {}),
        },
      });
      let done = false;
      return {
        end(result, err) {
          if (done) return;
          done = true;
          span.setAttribute("tsmesh.push.result", result);
          if (result !== "ack") fail(span, err ?? new Error(`push ${result}`));
          span.end();
        },
      };
    },
    applyMeshConfig(mc) {
      const before = tracing.sampling();
      try {
        if (mc.tracing?.sampling !== undefined) tracing.setSampling(mc.tracing.sampling);
        tracing.setEndpoint(mc.tracing?.otlpEndpoint ?? fallback);
      } catch (err) {
        tracing.setSampling(before);
        log.warn("tracing settings rejected, keeping the previous ones", { code: "TSMESH_ERR_TRACING_CONFIG", error: (err as Error).message });
      }
    },
    shutdown: () => tracing.shutdown(),
  };
}
