// Retry budget (Finagle RetryBudget / linkerd2-proxy and tower TpsBudget): every request to a
// destination deposits percent/100 of a token, every retry withdraws one, and a deposit counts
// for TTL (10 s) only. A reserve of minRetriesPerSecond x TTL tokens lets low-traffic services
// retry too. So over any 10 s, retries stay within percent% of requests plus
// minRetriesPerSecond per second, which is what keeps a retry storm off a sick service while
// letting isolated failures through.
export interface RetryBudgetSpec {
  percent: number;
  minRetriesPerSecond: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetSpec = { percent: 20, minRetriesPerSecond: 10 };

/** How long a deposit (and a withdrawal) counts. */
export const RETRY_BUDGET_TTL_MS = 10_000;
const SLOTS = 10;
/** Token units: a retry costs 100, a request deposits `percent` (exact for integer percents). */
const RETRY_COST = 100;

export class RetryBudget {
  /** Net deposits minus withdrawals per slot of TTL/SLOTS; the ring is the sliding window. */
  private readonly slots = new Float64Array(SLOTS);
  private readonly slotMs = RETRY_BUDGET_TTL_MS / SLOTS;
  /** Index (in slot units since the epoch) of the slot `slots[current % SLOTS]` belongs to. */
  private current: number;
  private reserve = 0;

  constructor(
    private spec: RetryBudgetSpec = DEFAULT_RETRY_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.current = Math.floor(now() / this.slotMs);
    this.configure(spec);
  }

  configure(spec: RetryBudgetSpec): void {
    this.spec = spec;
    this.reserve = spec.minRetriesPerSecond * (RETRY_BUDGET_TTL_MS / 1000) * RETRY_COST;
  }

  /** A request to the destination started: it earns percent/100 of a retry. */
  deposit(): void {
    this.advance();
    this.slots[this.current % SLOTS]! += this.spec.percent;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is exhausted. */
  tryWithdraw(): boolean {
    this.advance();
    if (this.balance() < RETRY_COST) return false;
    this.slots[this.current % SLOTS]! -= RETRY_COST;
    return true;
  }

  /** Retries available now (whole tokens). */
  available(): number {
    this.advance();
    return Math.floor(this.balance() / RETRY_COST);
  }

  private balance(): number {
    let sum = this.reserve;
    for (const s of this.slots) sum += s;
    return sum;
  }

  /** Clears the slots that fell out of the window since the last call. */
  private advance(): void {
    const slot = Math.floor(this.now() / this.slotMs);
    if (slot <= this.current) return;
    const stale = Math.min(SLOTS, slot - this.current);
    for (let i = 1; i <= stale; i++) this.slots[(this.current + i) % SLOTS] = 0;
    this.current = slot;
  }
}

/** One budget per destination service, reconfigured when its DestinationPolicy changes. */
export class RetryBudgets {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(private readonly now: () => number = Date.now) {}

  for(service: string, spec: RetryBudgetSpec | undefined): RetryBudget {
    const want = spec ?? DEFAULT_RETRY_BUDGET;
    let budget = this.budgets.get(service);
    if (!budget) {
      budget = new RetryBudget(want, this.now);
      this.budgets.set(service, budget);
    } else budget.configure(want);
    return budget;
  }
}
