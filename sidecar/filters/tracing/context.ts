// The span context of a request, kept beside (not inside) the RequestContext so other layers'
// types stay free of OTel. Access logs read the trace id from here.
import type { SpanContext } from "@opentelemetry/api";
import type { RequestContext } from "../../core/handler.js";

const spans = new WeakMap<RequestContext, SpanContext>();

export function setSpanContextOf(ctx: RequestContext, sc: SpanContext): void {
  spans.set(ctx, sc);
}

export function spanContextOf(ctx: RequestContext): SpanContext | undefined {
  return spans.get(ctx);
}

/** 32-hex trace id of the request's span (sampled or not), undefined before tracing ran. */
export function traceIdOf(ctx: RequestContext): string | undefined {
  return spans.get(ctx)?.traceId;
}
