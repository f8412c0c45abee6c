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

/**
 * TraceIdRatioBasedSampler's threshold: a trace id is sampled when the XOR of its four 32-bit
 * words is below it (ratio already checked to be in [0, 1]).
 */
function upperBoundOf(ratio: number): number {
  return ratio === 1 ? 0x100000000 : Math.floor(ratio * 0xffffffff);
}

/** Root sampler: a TraceIdRatioBasedSampler swapped atomically on change. */
export class MutableRatioSampler implements Sampler {
  private inner: TraceIdRatioBasedSampler;
  private current: number;
  private upperBound: number;

  constructor(ratio: number) {
    this.current = checkRatio(ratio);
    this.inner = new TraceIdRatioBasedSampler(ratio);
    this.upperBound = upperBoundOf(ratio);
  }

  get ratio(): number {
    return this.current;
  }

  setRatio(ratio: number): void {
    checkRatio(ratio);
    if (ratio === this.current) return;
    this.inner = new TraceIdRatioBasedSampler(ratio);
    this.upperBound = upperBoundOf(ratio);
    this.current = ratio;
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    return this.inner.shouldSample(context, traceId);
  }

  /** The decision shouldSample makes for a root span with this trace id. */
  samplesRoot(traceId: string): boolean {
    return this.inner.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
  }

  /** samplesRoot for a valid trace id given by its traceIdXor (ids this process generated). */
  samplesXor(xor: number): boolean {
    return xor < this.upperBound;
  }

  toString(): string {
    return `MutableRatioSampler{${this.current}}`;
  }
}

/** A sampled remote parent is honoured, an unsampled one too; roots follow the ratio. */
export function parentBasedRatio(root: MutableRatioSampler): Sampler {
  return new ParentBasedSampler({ root });
}
