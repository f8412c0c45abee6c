// Parent-based ratio sampling whose root ratio can change at runtime (MeshConfig push) without
// rebuilding the tracer provider: the SDK holds one Sampler instance for its lifetime.
import { ROOT_CONTEXT, type Context } from "@opentelemetry/api";
import {
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace-base";

export function checkRatio(ratio: number): number {
  if (typeof ratio !== "number" || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new RangeError(`TSMESH_ERR_TRACING_SAMPLING: sampling must be a number in [0, 1], got ${String(ratio)}`);
  }
  return ratio;
}

/** Root sampler: a TraceIdRatioBasedSampler swapped atomically on change. */
export class MutableRatioSampler implements Sampler {
  private inner: TraceIdRatioBasedSampler;
  private current: number;

  constructor(ratio: number) {
    this.current = checkRatio(ratio);
    this.inner = new TraceIdRatioBasedSampler(ratio);
  }

  get ratio(): number {
    return this.current;
  }

  setRatio(ratio: number): void {
    checkRatio(ratio);
    if (ratio === this.current) return;
    this.inner = new TraceIdRatioBasedSampler(ratio);
    this.current = ratio;
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    return this.inner.shouldSample(context, traceId);
  }

  /** The decision shouldSample makes for a root span with this trace id. */
  samplesRoot(traceId: string): boolean {
    return this.inner.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
  }

  toString(): string {
    return `MutableRatioSampler{${this.current}}`;
  }
}

/** A sampled remote parent is honoured, an unsampled one too; roots follow the ratio. */
export function parentBasedRatio(root: MutableRatioSampler): Sampler {
  return new ParentBasedSampler({ root });
}
