// Trace-context propagation over plain header maps (lower-case names), shared by the sidecar
// listeners and the control plane. Extraction precedence: W3C `traceparent` (+ `tracestate`)
// over B3 single `b3` over B3 multi `x-b3-*`. Injection writes all three so apps instrumented
// with either convention (OTel, Zipkin/Brave, Envoy) continue the same trace.
import {
  ROOT_CONTEXT,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Context,
  type SpanContext,
  type TextMapGetter,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3Propagator } from "@opentelemetry/propagator-b3";

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
const b3 = new B3Propagator();

const getter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
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
    return b3.extract(base, headers, getter);
  }
  return base;
}

/** The remote span context carried by the headers, if any (for tests and logs). */
export function extractSpanContext(headers: Headers): SpanContext | undefined {
  return trace.getSpanContext(extractContext(headers));
}

// A version-00 traceparent alone, lower-case hex: what tsmesh sidecars and OTel SDKs send.
const PLAIN_TRACEPARENT = /^00-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * The valid remote parent span context of the headers, as extractContext finds it; undefined for
 * none. A plain traceparent without tracestate is parsed here (the data path: no Context per
 * request); everything else (tracestate, B3, other versions, malformed values) goes through the
 * OTel propagators.
 */
export function remoteParent(headers: Headers): SpanContext | undefined {
  const tp = headers.traceparent;
  if (typeof tp === "string" && headers.tracestate === undefined && PLAIN_TRACEPARENT.test(tp)) {
    const traceId = tp.slice(3, 35);
    const spanId = tp.slice(36, 52);
    if (traceId !== ZERO_TRACE && spanId !== ZERO_SPAN) {
      return { traceId, spanId, traceFlags: parseInt(tp.slice(53, 55), 16), isRemote: true };
    }
  }
  if (tp === undefined && headers.b3 === undefined && headers["x-b3-traceid"] === undefined) return undefined;
  const sc = extractSpanContext(headers);
  return sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
}

const STRIP = new Set<string>(PROPAGATION_HEADERS);

/**
 * New header map: the input without stale propagation headers, plus W3C, B3 single and B3 multi
 * for the span in `ctx`. The input map is not modified (retries replay the same request).
 * Formatted directly rather than through three propagators: this runs on every request, sampled
 * or not (~4x cheaper); the tests check the output against the official extractors. A B3 debug
 * flag ("d") is carried on as sampled.
 */
export function injectContext<H extends Headers>(ctx: Context, headers: H): H & Headers {
  return injectSpanContext(trace.getSpanContext(ctx), headers);
}

/** injectContext for a span context at hand (the data path: no Context object per request). */
export function injectSpanContext<H extends Headers>(sc: SpanContext | undefined, headers: H): H & Headers {
  if (sc === undefined || !isSpanContextValid(sc)) return withoutPropagation(headers) as H & Headers;
  return injectValidSpanContext(sc, headers);
}

function withoutPropagation(headers: Headers): Headers {
  const out: Headers = {};
  for (const k in headers) {
    if (!STRIP.has(k)) out[k] = headers[k];
  }
  return out;
}

/**
 * injectSpanContext without re-checking the ids: for a span context whose ids are known valid
 * (from remoteParent or the id generator).
 */
export function injectValidSpanContext<H extends Headers>(sc: SpanContext, headers: H): H & Headers {
  const out = withoutPropagation(headers);
  const { traceId, spanId } = sc;
  const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? "1" : "0";
  out.traceparent = `00-${traceId}-${spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
  const state = sc.traceState?.serialize();
  if (state) out.tracestate = state;
  out.b3 = `${traceId}-${spanId}-${sampled}`;
  out["x-b3-traceid"] = traceId;
  out["x-b3-spanid"] = spanId;
  out["x-b3-sampled"] = sampled;
  return out as H & Headers;
}
