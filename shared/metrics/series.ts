// Handles on one label set of a prom-client Counter or Histogram, for the per-request data path.
// prom-client's inc(labels)/observe(labels, v) validate and hash the label object on every call
// (and observe turns the bucket bound into a string key); labels().inc() only binds the same call.
// A handle does that work once: the first record goes through the public API, which creates the
// series and its hash key; later records add to that series' entry in the metric's own store,
// so scrapes, reset() and remove() behave exactly as with the public API (a series removed or
// reset is recreated through the public API on its next record). The entry layout is prom-client
// 15's; if it ever differs, the handle notices on its first record and stays on the public API.
import type { Counter, Histogram } from "prom-client";

export interface CounterSeries {
  inc(value?: number): void;
}

export interface HistogramSeries {
  observe(value: number): void;
}

type Labels = Record<string, string | number>;
interface CounterEntry {
  value: number;
  labels: Labels;
}
interface HistogramEntry {
  labels: Labels;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}
interface Store<E> {
  hashMap?: Record<string, E | undefined>;
}

/** Label values as prom-client keys a series: `name:value,` in label-name order. */
function hashOf(labelNames: readonly string[], labels: Labels): string {
  let hash = "";
  for (const name of [...labelNames].sort()) {
    const v = labels[name];
    if (v !== undefined) hash += `${name}:${v},`;
  }
  return hash;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => String(a[k]) === String(b[k]));
}

/** `labels` must name every label of the counter (checked by prom-client on the first inc). */
export function counterSeries<T extends string>(counter: Counter<T>, labels: Record<T, string | number>): CounterSeries {
  const store = counter as unknown as Store<CounterEntry>;
  let key: string | undefined;
  let direct = true;
  return {
    inc(value = 1) {
      const entry = key === undefined ? undefined : store.hashMap?.[key];
      // Odd values (negative: throws; NaN) take prom-client's own path.
      if (entry !== undefined && value >= 0 && Number.isFinite(value)) {
        entry.value += value;
        return;
      }
      const res = counter.inc(labels, value) as unknown as { labelHash?: unknown } | undefined;
      if (key !== undefined || !direct) return; // series reset or removed: recreated above
      const hash = res?.labelHash;
      const created = typeof hash === "string" ? store.hashMap?.[hash] : undefined;
      if (created && typeof created.value === "number" && sameLabels(created.labels, labels)) key = hash as string;
      else direct = false;
    },
  };
}

/** `labels` must name every label of the histogram (checked by prom-client on the first observe). */
export function histogramSeries<T extends string>(
  histogram: Histogram<T>,
  labels: Record<T, string | number>,
): HistogramSeries {
  const internals = histogram as unknown as Store<HistogramEntry> & { upperBounds?: unknown; labelNames?: unknown };
  const bounds = Array.isArray(internals.upperBounds) ? (internals.upperBounds as number[]) : [];
  // Bucket keys as prom-client's object keys (String(bound)), computed once instead of per call.
  const bucketKeys = bounds.map(String);
  const hash = hashOf(Array.isArray(internals.labelNames) ? (internals.labelNames as string[]) : [], labels);
  let checked = false;
  let direct = false;
  return {
    observe(value) {
      const entry = direct ? internals.hashMap?.[hash] : undefined;
      if (entry === undefined || !Number.isFinite(value)) {
        histogram.observe(labels, value);
        if (!checked) {
          checked = true;
          const e = internals.hashMap?.[hash];
          direct =
            e !== undefined &&
            e.count >= 1 &&
            sameLabels(e.labels, labels) &&
            bucketKeys.length > 0 &&
            bucketKeys.every((k) => typeof e.bucketValues[k] === "number");
        }
        return;
      }
      entry.sum += value;
      entry.count += 1;
      // Per bucket, not cumulative: prom-client accumulates at scrape; above the last bound only count.
      for (let i = 0; i < bounds.length; i++) {
        if (value <= bounds[i]!) {
          entry.bucketValues[bucketKeys[i]!]! += 1;
          return;
        }
      }
    },
  };
}
