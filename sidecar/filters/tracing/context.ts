// The span context of a request, kept on the RequestContext under a symbol so other layers'
// types stay free of OTel (a property, not a WeakMap: one store per request on the data path).
// Access logs read the trace id from here.
import type { SpanContext } from "@opentelemetry/api";
import type { RequestContext } from "../../core/handler.js";

const SPAN = Symbol("tsmesh.spanContext");
type WithSpan = RequestContext & { [SPAN]?: SpanContext };

export function setSpanContextOf(ctx: RequestContext, sc: SpanContext): void {
  (ctx as WithSpan)[SPAN] = sc;
}

export function spanContextOf(ctx: RequestContext): SpanContext | undefined {
  return (ctx as WithSpan)[SPAN];
}

/** 32-hex trace id of the request's span (sampled or not), undefined before tracing ran. */
export function traceIdOf(ctx: RequestContext): string | undefined {
  return (ctx as WithSpan)[SPAN]?.traceId;
}
