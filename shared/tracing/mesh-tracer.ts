// The tracer createTracing hands out: the SDK tracer plus what a data-path layer needs to skip it
// for requests that will not be sampled (99% at the default ratio). sampled() is the decision the
// provider's ParentBased(TraceIdRatio) sampler makes, so the SDK is only asked to start spans it
// will record; for a root, the sampled trace id is preset so the SDK span carries that same id.
import type { Context, Span, SpanContext, SpanOptions, Tracer } from "@opentelemetry/api";
import { TraceFlags } from "@opentelemetry/api";
import type { PooledIdGenerator } from "./ids.js";
import type { MutableRatioSampler } from "./ratio-sampler.js";

export class MeshTracer implements Tracer {
  constructor(
    private readonly inner: Tracer,
    private readonly root: MutableRatioSampler,
    readonly ids: PooledIdGenerator,
  ) {}

  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    try {
      return this.inner.startSpan(name, options, context);
    } finally {
      // A preset id the SDK did not take (it made no root span) must not leak into a later root.
      this.ids.presetTraceId(undefined);
    }
  }

  startActiveSpan: Tracer["startActiveSpan"] = (...args: unknown[]) =>
    (this.inner.startActiveSpan as (...a: unknown[]) => never).apply(this.inner, args);

  /**
   * ParentBased(TraceIdRatio): a valid remote parent's sampled flag decides; a root (parent
   * undefined) follows the current ratio on `traceId`.
   */
  sampled(parent: SpanContext | undefined, traceId: string): boolean {
    if (parent) return (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
    // An id just generated: its words are at hand, no hex parsing.
    if (traceId === this.ids.lastTraceId) return this.root.samplesXor(this.ids.lastTraceXor);
    return this.root.samplesRoot(traceId);
  }
}

/** The MeshTracer behind a Tracer, if it is one (a foreign tracer always takes the SDK path). */
export function meshTracerOf(tracer: Tracer): MeshTracer | undefined {
  return tracer instanceof MeshTracer ? tracer : undefined;
}
