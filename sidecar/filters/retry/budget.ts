// Retry budget: retries to a destination stay a fraction of its active requests (Envoy's
// retry_budget: budget_percent of active requests), with a floor of minRetriesPerSecond so low
// traffic can still retry (Linkerd). Prevents retry storms from multiplying load on a sick service.
export interface RetryBudgetSpec {
  percent: number;
  minRetriesPerSecond: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetSpec = { percent: 20, minRetriesPerSecond: 3 };

export class RetryBudget {
  private activeRequests = 0;
  private activeRetries = 0;
  private windowStart = 0;
  private retriesThisSecond = 0;

  constructor(
    private spec: RetryBudgetSpec = DEFAULT_RETRY_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  configure(spec: RetryBudgetSpec): void {
    this.spec = spec;
  }

  /** An original request started (its retries run within it). */
  startRequest(): void {
    this.activeRequests++;
  }

  endRequest(): void {
    this.activeRequests = Math.max(0, this.activeRequests - 1);
  }

  /** Takes budget for one retry; false when exhausted. Call endRetry() when that attempt ends. */
  tryStartRetry(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.retriesThisSecond = 0;
    }
    const byRatio = this.activeRetries < (this.spec.percent / 100) * this.activeRequests;
    const byFloor = this.retriesThisSecond < this.spec.minRetriesPerSecond;
    if (!byRatio && !byFloor) return false;
    this.activeRetries++;
    this.retriesThisSecond++;
    return true;
  }

  endRetry(): void {
    this.activeRetries = Math.max(0, this.activeRetries - 1);
  }

  state(): { activeRequests: number; activeRetries: number } {
    return { activeRequests: this.activeRequests, activeRetries: this.activeRetries };
  }
}

/** One budget per destination service, reconfigured when its DestinationPolicy changes. */
export class RetryBudgets {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(private readonly now: () => number = Date.now) {}

  for(service: string, spec: RetryBudgetSpec | undefined): RetryBudget {
    let budget = this.budgets.get(service);
    if (!budget) {
      budget = new RetryBudget(spec ?? DEFAULT_RETRY_BUDGET, this.now);
      this.budgets.set(service, budget);
    } else budget.configure(spec ?? DEFAULT_RETRY_BUDGET);
    return budget;
  }
}
