// Reads the sidecars' Prometheus /metrics for the summary: sums a counter's samples, optionally
// only those whose labels match.
export async function scrape(adminPort: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : "";
  } catch {
    return "";
  }
}

/** Sum of `name{...} value` samples in Prometheus text; `labels` must all match when given. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[3] ?? "";
    if (!Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) continue;
    const v = Number(m[4]);
    if (Number.isFinite(v)) total += v;
  }
  return total;
}
