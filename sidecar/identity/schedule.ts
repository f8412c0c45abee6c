// When to renew and how long to wait after a failure: pure functions, tested on their own.

/** Renewal time: 2/3 of the way from receipt to expiry, moved earlier by up to `jitter` of the lifetime. */
export function renewAt(receivedAtMs: number, notAfterMs: number, jitter = 0.05, rand: () => number = Math.random): number {
  const lifetime = Math.max(0, notAfterMs - receivedAtMs);
  return receivedAtMs + lifetime * (2 / 3 - jitter * rand());
}

/** Exponential backoff with full jitter, capped at maxMs, at least baseMs/2. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, rand: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.max(baseMs / 2, cap * rand());
}
