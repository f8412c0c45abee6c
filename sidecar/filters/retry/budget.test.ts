import { describe, expect, it } from "vitest";
import { RetryBudget, RetryBudgets } from "./budget.js";

describe("RetryBudget", () => {
  it("allows concurrent retries up to percent of active requests once the per-second floor is used", () => {
    let now = 0;
    const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 0 }, () => now);
    for (let i = 0; i < 10; i++) b.startRequest();
    expect([b.tryStartRetry(), b.tryStartRetry(), b.tryStartRetry()]).toEqual([true, true, false]);
    b.endRetry();
    expect(b.tryStartRetry()).toBe(true);
    now += 5000;
    expect(b.tryStartRetry()).toBe(false);
  });

  it("lets min retries per second through regardless of the ratio, refilled each second", () => {
    let now = 0;
    const b = new RetryBudget({ percent: 0, minRetriesPerSecond: 3 }, () => now);
    b.startRequest();
    expect([1, 2, 3, 4].map(() => b.tryStartRetry())).toEqual([true, true, true, false]);
    now += 1000;
    expect(b.tryStartRetry()).toBe(true);
  });

  it("a lone request may retry (0 concurrent retries < 20% of 1) and counts never go negative", () => {
    const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 0 });
    b.startRequest();
    expect(b.tryStartRetry()).toBe(true);
    expect(b.tryStartRetry()).toBe(false);
    b.endRetry();
    b.endRetry();
    b.endRequest();
    b.endRequest();
    expect(b.state()).toEqual({ activeRequests: 0, activeRetries: 0 });
  });
});

describe("RetryBudgets", () => {
  it("keeps one budget per service and applies a changed policy to it", () => {
    const budgets = new RetryBudgets();
    const a = budgets.for("a", undefined);
    expect(budgets.for("a", { percent: 0, minRetriesPerSecond: 0 })).toBe(a);
    a.startRequest();
    expect(a.tryStartRetry()).toBe(false);
    expect(budgets.for("b", undefined)).not.toBe(a);
  });
});
