// Durations as users write them in Istio/Gateway API resources: "250ms", "2s", "1m30s", "1h".
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** Parses a duration string into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  if (!isDuration(text)) throw new Error(`invalid duration "${text}" (expected e.g. 250ms, 2s, 1m, 1h)`);
  let total = 0;
  for (const [, value, unit] of text.matchAll(PART)) total += Number(value) * UNIT_MS[unit!]!;
  return total;
}
