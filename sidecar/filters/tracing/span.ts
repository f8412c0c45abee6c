// One span around a downstream call: parent from the request's propagation headers, this span
// injected into the forwarded request, ended when the response body is finished with. When the
// span is not sampled, no attributes are built: the cost is an id pair and the header rewrite.
import type { Attributes, Span, SpanKind, Tracer } from "@opentelemetry/api";
import { extractContext, injectSpanContext } from "../../../shared/tracing/propagation.js";
import { invoke, type Handler, type MeshRequest, type RequestContext } from "../../core/handler.js";
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
  return (req, ctx) => {
    const parent = extractContext(req.headers);
    const span = tracer.startSpan(spec.name(req, ctx), { kind: spec.kind }, parent);
    const sc = span.spanContext();
    setSpanContextOf(ctx, sc);
    const forwarded: MeshRequest = { ...req, headers: injectSpanContext(sc, req.headers) };
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
