import { describe, expect, it } from "vitest";
import { RetryBudget, RetryBudgets } from "./budget.js";

/** A budget on a fake clock, driven one millisecond-stamped request at a time. */
function clocked(spec: { percent: number; minRetriesPerSecond: number }) {
  let now = 1_000_000;
  const budget = new RetryBudget(spec, () => now);
  return { budget, advance: (ms: number) => (now += ms) };
}

/**
 * `seconds` of traffic at `rps`; every `retryEvery`-th request asks for one retry.
 * Returns retries asked for and granted per second.
 */
function traffic(b: ReturnType<typeof clocked>, seconds: number, rps: number, retryEvery: number) {
  const perSecond: { asked: number; granted: number }[] = [];
  for (let s = 0; s < seconds; s++) {
    const sec = { asked: 0, granted: 0 };
    for (let i = 0; i < rps; i++) {
      b.budget.deposit();
      if (i % retryEvery === 0) {
        sec.asked++;
        if (b.budget.tryWithdraw()) sec.granted++;
      }
      b.advance(1000 / rps);
    }
    perSecond.push(sec);
  }
  return perSecond;
}

const sum = (xs: { asked: number; granted: number }[], k: "asked" | "granted") => xs.reduce((n, x) => n + x[k], 0);

describe("RetryBudget (token bucket: percent of requests over 10 s plus minRetriesPerSecond)", () => {
  it("retry_budget_far_tighter_than_20_percent: at 200 rps with 10% of requests failing, every retry is granted", () => {
    const b = clocked({ percent: 20, minRetriesPerSecond: 10 });
    const seconds = traffic(b, 30, 200, 10);
    expect(sum(seconds, "asked")).toBe(600);
    expect(sum(seconds, "granted")).toBe(600);
  });

  it("when every request wants a retry, steady state grants 20% of requests plus 10/s", () => {
    const b = clocked({ percent: 20, minRetriesPerSecond: 10 });
    const seconds = traffic(b, 40, 200, 1);
    // The first window also spends the 100-token reserve; afterwards each 10 s grants 400 + 100.
    const steady = seconds.slice(20);
    expect(sum(steady, "granted")).toBeGreaterThanOrEqual(0.2 * 200 * 20 + 10 * 20 - 50);
    expect(sum(steady, "granted")).toBeLessThanOrEqual(0.2 * 200 * 20 + 10 * 20 + 50);
    for (let i = 10; i < seconds.length; i++) {
      const window = seconds.slice(i - 10, i);
      expect(sum(window, "granted")).toBeLessThanOrEqual(0.2 * 200 * 10 + 10 * 10 + 1);
    }
  });

  it("without traffic the floor allows minRetriesPerSecond x 10 s, refilled as withdrawals age out", () => {
    const b = clocked({ percent: 20, minRetriesPerSecond: 10 });
    expect(b.budget.available()).toBe(100);
    let granted = 0;
    while (b.budget.tryWithdraw()) granted++;
    expect(granted).toBe(100);
    b.advance(5_000);
    expect(b.budget.tryWithdraw()).toBe(false);
    b.advance(5_000);
    expect(b.budget.available()).toBe(100);
  });

  it("deposits expire after the 10 s TTL", () => {
    const b = clocked({ percent: 50, minRetriesPerSecond: 0 });
    for (let i = 0; i < 10; i++) b.budget.deposit();
    expect(b.budget.available()).toBe(5);
    b.advance(8_999);
    expect(b.budget.available()).toBe(5);
    b.advance(1_001);
    expect(b.budget.available()).toBe(0);
    expect(b.budget.tryWithdraw()).toBe(false);
  });

  it("percent 0 and no floor allows nothing; a refused withdrawal takes nothing", () => {
    const b = clocked({ percent: 0, minRetriesPerSecond: 0 });
    for (let i = 0; i < 100; i++) b.budget.deposit();
    expect(b.budget.tryWithdraw()).toBe(false);
    const c = clocked({ percent: 100, minRetriesPerSecond: 0 });
    c.budget.deposit();
    expect([c.budget.tryWithdraw(), c.budget.tryWithdraw()]).toEqual([true, false]);
    c.budget.deposit();
    expect(c.budget.tryWithdraw()).toBe(true);
  });

  it("a clock going backwards changes nothing", () => {
    const b = clocked({ percent: 100, minRetriesPerSecond: 0 });
    b.budget.deposit();
    b.advance(-60_000);
    expect(b.budget.available()).toBe(1);
  });
});

describe("RetryBudgets", () => {
  it("keeps one budget per service and applies a changed policy to it", () => {
    const budgets = new RetryBudgets();
    const a = budgets.for("a", undefined);
    expect(a.available()).toBe(100);
    expect(budgets.for("a", { percent: 0, minRetriesPerSecond: 0 })).toBe(a);
    a.deposit();
    expect(a.tryWithdraw()).toBe(false);
    expect(budgets.for("b", undefined)).not.toBe(a);
  });
});
