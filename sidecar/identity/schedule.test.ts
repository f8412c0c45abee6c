import { describe, expect, it } from "vitest";
import { backoffMs, renewAt } from "./schedule.js";

describe("renewAt", () => {
  it("is 2/3 of the remaining lifetime without jitter", () => {
    expect(renewAt(1000, 4000, 0)).toBe(3000);
    expect(renewAt(0, 24 * 3600_000, 0)).toBe(16 * 3600_000);
  });
  it("jitter only moves renewal earlier, by at most the given fraction", () => {
    expect(renewAt(0, 3000, 0.1, () => 1)).toBeCloseTo(2000 - 300);
    expect(renewAt(0, 3000, 0.1, () => 0)).toBeCloseTo(2000);
  });
  it("an already expired certificate renews immediately", () => {
    expect(renewAt(5000, 4000, 0.05)).toBe(5000);
  });
});

describe("backoffMs", () => {
  it("grows exponentially up to the cap and never drops below half the base", () => {
    const max = () => 1;
    expect(backoffMs(1, 100, 10_000, max)).toBe(200);
    expect(backoffMs(3, 100, 10_000, max)).toBe(800);
    expect(backoffMs(30, 100, 10_000, max)).toBe(10_000);
    expect(backoffMs(5, 100, 10_000, () => 0)).toBe(50);
  });
});
