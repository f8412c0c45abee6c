import { describe, expect, it } from "vitest";
import { decideFault } from "./decide.js";

describe("decideFault", () => {
  it("applies each fault when random()*100 falls under its percent", () => {
    const fault = { delay: { percent: 50, duration: "100ms" }, abort: { percent: 10, status: 503 } };
    expect(decideFault(fault, () => 0.05)).toEqual({ delayMs: 100, abortStatus: 503 });
    expect(decideFault(fault, () => 0.3)).toEqual({ delayMs: 100 });
    expect(decideFault(fault, () => 0.5)).toEqual({});
  });

  it("never applies 0 percent, always applies 100 percent, and nothing without a fault", () => {
    expect(decideFault({ abort: { percent: 0, status: 500 } }, () => 0)).toEqual({});
    expect(decideFault({ abort: { percent: 100, status: 500 } }, () => 0.999999)).toEqual({ abortStatus: 500 });
    expect(decideFault(undefined)).toEqual({});
  });

  it("hits roughly the configured share of requests", () => {
    let aborts = 0;
    for (let i = 0; i < 10_000; i++) if (decideFault({ abort: { percent: 25, status: 500 } }).abortStatus) aborts++;
    expect(aborts).toBeGreaterThan(2200);
    expect(aborts).toBeLessThan(2800);
  });
});
