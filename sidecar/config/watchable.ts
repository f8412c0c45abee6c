// A value that changes at runtime (pushed config, rotated certificates): readers call get() on
// each use; owners of derived state (route table, pools, TLS contexts) subscribe and rebuild.
export type Listener<T> = (value: T, previous: T | undefined) => void;

export class Watchable<T> {
  private value: T | undefined;
  private readonly listeners = new Set<Listener<T>>();

  constructor(initial?: T) {
    this.value = initial;
  }

  get(): T | undefined {
    return this.value;
  }

  /**
   * Replaces the value and notifies listeners in subscription order. A listener that throws
   * leaves the value set and does not stop the others; its error is rethrown afterwards.
   */
  set(value: T): void {
    const previous = this.value;
    this.value = value;
    let failure: unknown;
    for (const fn of this.listeners) {
      try {
        fn(value, previous);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Calls `fn` on every change (and at once when a value is already present). */
  subscribe(fn: Listener<T>, { immediate = true } = {}): () => void {
    this.listeners.add(fn);
    if (immediate && this.value !== undefined) fn(this.value, undefined);
    return () => this.listeners.delete(fn);
  }
}
