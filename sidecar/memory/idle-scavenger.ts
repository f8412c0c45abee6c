// Young-generation collections while no request is in flight. A request's objects die young, so
// a scavenge costs what is alive when it runs. Left to allocation, V8 scavenges in the middle of a
// burst of requests: it copies the burst's in-flight objects, promotes some of them to the old
// generation, and every request of the burst waits out the pause (1-2 ms each, about five a
// second at 1,000 rps). Run between bursts instead, nothing of a request is alive: the pause is
// shorter, falls on no request, and less is promoted, so full collections come less often. Chrome
// schedules its garbage collection in idle time for the same reason.
import v8 from "node:v8";

export interface YoungGeneration {
  used: number;
  capacity: number;
}

export interface IdleScavengerOptions {
  /** A young-generation collection (V8's gc({ type: "minor" })). */
  scavenge: () => void;
  /** True while a request is in flight. */
  busy: () => boolean;
  /** Collect once the young generation is at least this full (0..1 of its current capacity). */
  fullness?: number;
  /** Default: V8's new space. */
  youngGeneration?: () => YoungGeneration;
}

export const DEFAULT_FULLNESS = 0.5;

export function newSpace(): YoungGeneration {
  const s = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
  return s ? { used: s.space_used_size, capacity: s.space_used_size + s.space_available_size } : { used: 0, capacity: Infinity };
}

export class IdleScavenger {
  private scheduled = false;
  private readonly fullness: number;
  private readonly young: () => YoungGeneration;
  /** Collections run so far. */
  collections = 0;

  constructor(private readonly opts: IdleScavengerOptions) {
    this.fullness = opts.fullness ?? DEFAULT_FULLNESS;
    this.young = opts.youngGeneration ?? newSpace;
  }

  /**
   * A listener has nothing in flight. Checked after the current I/O batch: a request that
   * arrived in the same batch is in flight by then, and the collection waits for the next idle.
   */
  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.check);
  }

  private readonly check = (): void => {
    this.scheduled = false;
    if (this.opts.busy()) return;
    const { used, capacity } = this.young();
    if (used < this.fullness * capacity) return;
    this.collections++;
    this.opts.scavenge();
  };
}
