// Coalesces a burst of changes into one flush: the first change opens a window of `delayMs`;
// changes inside it ride along; the flush comes at the window's end. Unlike a sliding debounce,
// a steady stream of writes cannot postpone the flush forever.
export class Coalescer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;

  constructor(
    private readonly delayMs: number,
    private readonly flush: (firstChangeAt: number) => void,
  ) {}

  /** Records a change; `now` is when it was seen (for latency accounting). */
  touch(now = Date.now()): void {
    if (this.timer) return;
    this.firstAt = now;
    const fire = () => {
      this.timer = undefined;
      this.flush(this.firstAt);
    };
    if (this.delayMs <= 0) {
      this.timer = setImmediate(fire) as unknown as NodeJS.Timeout;
      return;
    }
    this.timer = setTimeout(fire, this.delayMs);
  }

  pending(): boolean {
    return this.timer !== undefined;
  }

  cancel(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
    }
    this.timer = undefined;
  }
}
