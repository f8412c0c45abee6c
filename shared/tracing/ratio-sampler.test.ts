import { ROOT_CONTEXT } from "@opentelemetry/api";
import { SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { PooledIdGenerator } from "./ids.js";
import { MutableRatioSampler } from "./ratio-sampler.js";

describe("MutableRatioSampler", () => {
  it("decides generated root ids from their words exactly as OTel's TraceIdRatioBasedSampler does, at every ratio", () => {
    const ids = new PooledIdGenerator();
    const sampler = new MutableRatioSampler(0);
    for (const ratio of [0, 1e-9, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.999, 1]) {
      sampler.setRatio(ratio);
      const otel = new TraceIdRatioBasedSampler(ratio);
      let sampled = 0;
      for (let i = 0; i < 3000; i++) {
        const id = ids.generateTraceId();
        expect(ids.lastTraceId).toBe(id);
        const expected = otel.shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED;
        expect(sampler.samplesXor(ids.lastTraceXor)).toBe(expected);
        expect(sampler.samplesRoot(id)).toBe(expected);
        if (expected) sampled++;
      }
      if (ratio === 0) expect(sampled).toBe(0);
      if (ratio === 1) expect(sampled).toBe(3000);
    }
  });

  it("refuses a ratio outside [0, 1] and keeps the previous one", () => {
    const sampler = new MutableRatioSampler(0.5);
    expect(() => sampler.setRatio(1.5)).toThrow(/TSMESH_ERR_TRACING_SAMPLING/);
    expect(sampler.ratio).toBe(0.5);
  });
});
