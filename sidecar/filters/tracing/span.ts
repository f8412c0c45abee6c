// One span around a downstream call: parent from the request's propagation headers, this span
// injected into the forwarded request, ended when the response body is finished with. When the
// span will not be sampled (decided first, as the provider's sampler would), the SDK is not
// involved: the trace continues in the headers with a fresh span id, nothing else is built.
import {
  INVALID_SPANID,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanKind,
  type Tracer,
} from "@opentelemetry/api";
import { meshTracerOf, type MeshTracer } from "../../../shared/tracing/mesh-tracer.js";
import { extractContext, injectSpanContext, injectValidSpanContext, remoteParent } from "../../../shared/tracing/propagation.js";
import { invoke, type Handler, type MeshRequest, type MeshResponse, type RequestContext } from "../../core/handler.js";
import { codeOfError, onBodyEnd, statusOfError } from "../../telemetry/response-end.js";
import { recordError, recordGrpcStatus, recordStatus, requestAttributes } from "./attributes.js";
import { setSpanContextOf } from "./context.js";

export interface SpanSpec {
  kind: SpanKind;
  name: (req: MeshRequest, ctx: RequestContext) => string;
  /** Attributes known once the call returned (ctx.endpoint, ctx.route ...). */
  after: (span: Span, ctx: RequestContext) => void;
  /** Attributes known before the call. */
  before?: (ctx: RequestContext) => Attributes;
}

export function traced(tracer: Tracer, spec: SpanSpec, next: Handler): Handler {
  const mesh = meshTracerOf(tracer);
  const sdkPath = sdkTraced(tracer, spec, next, mesh !== undefined);
  if (!mesh) return (req, ctx) => sdkPath(req, ctx, extractContext(req.headers));
  return (req, ctx) => {
    const parent = remoteParent(req.headers);
    const traceId = parent ? parent.traceId : mesh.ids.generateTraceId();
    if (mesh.sampled(parent, traceId)) {
      if (!parent) mesh.ids.presetTraceId(traceId);
      // The parent as the W3C/B3 extractors would put it in a Context (already parsed once).
      return sdkPath(req, ctx, parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
    }
    return unsampled(mesh, parent, traceId, next, req, ctx);
  };
}

/** Same span context as the SDK's non-recording span: parent's trace id and trace state. */
function unsampled(
  mesh: MeshTracer,
  parent: SpanContext | undefined,
  traceId: string,
  next: Handler,
  req: MeshRequest,
  ctx: RequestContext,
): Promise<MeshResponse> {
  const sc: SpanContext = { traceId, spanId: mesh.ids.generateSpanId(), traceFlags: TraceFlags.NONE, traceState: parent?.traceState };
  setSpanContextOf(ctx, sc);
  return invoke(next, { ...req, headers: injectValidSpanContext(sc, req.headers) }, ctx);
}

/**
 * A request through the OTel SDK (sampled requests, or a tracer not from createTracing).
 * `idsValid`: the tracer's span ids need no check before injection (a MeshTracer's).
 */
function sdkTraced(
  tracer: Tracer,
  spec: SpanSpec,
  next: Handler,
  idsValid: boolean,
): (req: MeshRequest, ctx: RequestContext, parent: Context) => Promise<MeshResponse> {
  return (req, ctx, parent) => {
    const span = tracer.startSpan(spec.name(req, ctx), { kind: spec.kind }, parent);
    const sc = span.spanContext();
    setSpanContextOf(ctx, sc);
    // The SDK's only invalid output is INVALID_SPAN_CONTEXT (tracing suppressed).
    const valid = idsValid && sc.spanId !== INVALID_SPANID;
    const headers = valid ? injectValidSpanContext(sc, req.headers) : injectSpanContext(sc, req.headers);
    const forwarded: MeshRequest = { ...req, headers };
    // Not sampled (the common case at the default 1%): headers only, no attributes, no
    // continuation; ending a non-recording span is a no-op.
    if (!span.isRecording()) return invoke(next, forwarded, ctx);
    span.setAttributes(requestAttributes(req));
    if (spec.before) span.setAttributes(spec.before(ctx));
    return invoke(next, forwarded, ctx).then(
      (res) => {
        spec.after(span, ctx);
        recordStatus(span, res.status);
        recordGrpcStatus(span, res.headers); // trailers-only gRPC answers
        // End once the body is done and, for h2, the trailers (gRPC status) are in.
        let pending = res.trailers ? 2 : 1;
        const finish = () => {
          if (--pending === 0) span.end();
        };
        res.trailers?.then(
          (t) => {
            recordGrpcStatus(span, t);
            finish();
          },
          finish,
        );
        onBodyEnd(res, (err) => {
          if (err) recordError(span, err, codeOfError(err));
          finish();
        });
        return res;
      },
      (err: unknown) => {
        spec.after(span, ctx);
        recordStatus(span, statusOfError(err));
        recordError(span, err, codeOfError(err));
        span.end();
        throw err;
      },
    );
  };
}
