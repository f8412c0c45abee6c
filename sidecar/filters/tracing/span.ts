// One span around a downstream call: parent from the request's propagation headers, this span
// injected into the forwarded request, ended when the response body is finished with. When the
// span is not sampled, no attributes are built: the cost is an id pair and the header rewrite.
import { SpanKind, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import { extractContext, injectContext } from "../../../shared/tracing/propagation.js";
import type { Handler, MeshRequest, RequestContext } from "../../core/handler.js";
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
  return async (req, ctx) => {
    const parent = extractContext(req.headers);
    const span = tracer.startSpan(spec.name(req, ctx), { kind: spec.kind }, parent);
    const recording = span.isRecording();
    if (recording) {
      span.setAttributes(requestAttributes(req));
      if (spec.before) span.setAttributes(spec.before(ctx));
    }
    setSpanContextOf(ctx, span.spanContext());
    const forwarded: MeshRequest = { ...req, headers: injectContext(trace.setSpan(parent, span), req.headers) };
    let res;
    try {
      res = await next(forwarded, ctx);
    } catch (err) {
      if (recording) {
        spec.after(span, ctx);
        recordStatus(span, statusOfError(err));
        recordError(span, err, codeOfError(err));
      }
      span.end();
      throw err;
    }
    if (!recording) return res;
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
  };
}
