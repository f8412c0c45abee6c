import { isValidSpanId, isValidTraceId } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { PooledIdGenerator } from "./ids.js";

describe("pooled id generator", () => {
  it("hands out valid, distinct ids across pool refills", () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = ids.generateTraceId();
      const s = ids.generateSpanId();
      expect(isValidTraceId(t) && isValidSpanId(s)).toBe(true);
      seen.add(t).add(s);
    }
    expect(seen.size).toBe(2000);
  });

  it("a preset trace id is used by the next call only", () => {
    const ids = new PooledIdGenerator();
    ids.presetTraceId("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(ids.generateSpanId()).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(ids.generateTraceId()).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(ids.generateTraceId()).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});
