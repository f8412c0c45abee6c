// What the demo shows, as text: observed vs configured canary split, retries, circuit breaking,
// trace ids and where to see them.
import type { AppStats } from "./apps.js";
import type { Tally } from "./traffic.js";

export interface DemoFindings {
  tally: Tally;
  stats: AppStats;
  canaryPercent: number;
  inventoryFailureRate: number;
  retries: { frontendToOrders: number; ordersToInventory: number };
  outlierEjections: number;
  jaegerUrl?: string;
  otlpEndpoint?: string;
}

function pct(n: number, of: number): string {
  return of === 0 ? "-" : `${((100 * n) / of).toFixed(1)}%`;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function formatSummary(f: DemoFindings): string {
  const t = f.tally;
  const lat = [...t.latenciesMs].sort((a, b) => a - b);
  const v1 = t.versions.v1 ?? 0;
  const v2 = t.versions.v2 ?? 0;
  const answered = v1 + v2;
  const retries = f.retries.frontendToOrders + f.retries.ordersToInventory;
  const lines = [
    "",
    "tsmesh demo summary",
    `  topology      frontend -> orders (v1, v2) -> inventory (fails ${Math.round(f.inventoryFailureRate * 100)}% of requests), every hop mTLS`,
    `  traffic       ${t.sent} requests in ${(t.elapsedMs / 1000).toFixed(1)} s: ${t.ok} ok (${pct(t.ok, t.sent)}), ${t.failed} failed; p50 ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms`,
    `  canary split  configured orders v1 ${100 - f.canaryPercent}% / v2 ${f.canaryPercent}%; observed v1 ${pct(v1, answered)} (${v1}) / v2 ${pct(v2, answered)} (${v2})`,
    `  retries       ${retries} (frontend->orders ${f.retries.frontendToOrders}, orders->inventory ${f.retries.ordersToInventory}; tsmesh_retries_total): inventory failed ${f.stats.inventoryFailures} times, the client saw ${t.failed} failures`,
    `  circuit       ${f.stats.overflows} calls refused by connection limits (x-tsmesh-overflow, then retried upstream); ${f.outlierEjections} outlier ejections (tsmesh_outlier_ejections_total)`,
    `  trace ids     ${t.traceIds.length > 0 ? t.traceIds.join(" ") : "none seen"}`,
  ];
  if (f.jaegerUrl && t.traceIds[0]) lines.push(`  jaeger        ${f.jaegerUrl.replace(/\/+$/, "")}/trace/${t.traceIds[0]}`);
  else if (f.otlpEndpoint) lines.push(`  traces        exported to ${f.otlpEndpoint} (set TSMESH_JAEGER_URL to get trace links)`);
  else lines.push("  traces        not exported: set TSMESH_OTLP_ENDPOINT (and TSMESH_JAEGER_URL) to see them in Jaeger");
  lines.push("");
  return lines.join("\n");
}
