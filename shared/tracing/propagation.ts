// Trace-context propagation over plain header maps (lower-case names), shared by the sidecar
// listeners and the control plane. Extraction precedence: W3C `traceparent` (+ `tracestate`)
// over B3 single `b3` over B3 multi `x-b3-*`. Injection writes all three so apps instrumented
// with either convention (OTel, Zipkin/Brave, Envoy) continue the same trace.
import { ROOT_CONTEXT, trace, type Context, type SpanContext, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3InjectEncoding, B3Propagator } from "@opentelemetry/propagator-b3";

export type Headers = Record<string, string | string[] | undefined>;

export const PROPAGATION_HEADERS = [
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
] as const;

const w3c = new W3CTraceContextPropagator();
// B3Propagator.extract reads `b3` first and falls back to the x-b3-* headers.
const b3Single = new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
const b3Multi = new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });

const getter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  },
};

const setter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => {
    carrier[key.toLowerCase()] = value;
  },
};

/** Remote parent context from request headers; ROOT_CONTEXT when none is valid. */
export function extractContext(headers: Headers, base: Context = ROOT_CONTEXT): Context {
  if (headers.traceparent !== undefined) {
    const ctx = w3c.extract(base, headers, getter);
    if (trace.getSpanContext(ctx) !== undefined) return ctx;
    // A malformed traceparent falls through to B3 rather than losing the trace.
  }
  if (headers.b3 !== undefined || headers["x-b3-traceid"] !== undefined) {
    return b3Single.extract(base, headers, getter);
  }
  return base;
}

/** The remote span context carried by the headers, if any (for tests and logs). */
export function extractSpanContext(headers: Headers): SpanContext | undefined {
  return trace.getSpanContext(extractContext(headers));
}

/**
 * New header map: the input without stale propagation headers, plus W3C, B3 single and B3 multi
 * for the span in `ctx`. The input map is not modified (retries replay the same request).
 */
export function injectContext<H extends Headers>(ctx: Context, headers: H): H {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!(PROPAGATION_HEADERS as readonly string[]).includes(k)) out[k] = v;
  }
  w3c.inject(ctx, out, setter);
  b3Single.inject(ctx, out, setter);
  b3Multi.inject(ctx, out, setter);
  return out as H;
}
