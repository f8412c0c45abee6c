// Counts in-flight exchanges per listener so a drain can wait for them to finish.
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** `onIdle`: called each time the last in-flight exchange ends. */
  constructor(private readonly onIdle?: () => void) {}

  get size(): number {
    return this.count;
  }

  start(): void {
    this.count++;
  }

  /** start(), and an end for it that counts once however often it is called. */
  begin(): () => void {
    this.start();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.end();
    };
  }

  end(): void {
    if (--this.count !== 0) return;
    this.onIdle?.();
    if (this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  /** Resolves true once idle, false if `deadlineMs` passes first. */
  idle(deadlineMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
