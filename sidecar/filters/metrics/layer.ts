// Request metrics, recorded once per request when its response body is finished with:
// tsmesh_requests_total, tsmesh_request_duration_seconds and tsmesh_retries_total.
// Put it first on each listener's stack so the duration covers every other layer.
import { parseSpiffeId } from "../../../shared/identity.js";
import type { Direction, SidecarMetrics } from "../../../shared/metrics/index.js";
import { counterSeries, histogramSeries, type CounterSeries, type HistogramSeries } from "../../../shared/metrics/series.js";
import { invoke, type Middleware, type RequestContext } from "../../core/handler.js";
import { onBodyEnd, statusOfError } from "../../telemetry/response-end.js";

export const UNKNOWN = "unknown";

export interface MetricsLayerOptions {
  metrics: Pick<SidecarMetrics, "requests" | "requestDuration" | "retries">;
  direction: Direction;
  /** This sidecar's service. */
  service: string;
}

/** Service name of a verified SPIFFE ID; "unknown" for plaintext (PERMISSIVE) or foreign IDs. */
export function peerService(identity: string | undefined): string {
  if (!identity) return UNKNOWN;
  return parseSpiffeId(identity)?.service ?? UNKNOWN;
}

interface Series {
  labels: { direction: Direction; source: string; destination: string; route: string };
  /** Request counter per status code. */
  byCode: Map<number, CounterSeries>;
  duration: HistogramSeries;
  retries: CounterSeries;
}

/** Bounds the label-object cache (series are bounded by routes x peers anyway). */
const MAX_SERIES = 10_000;

export function metricsLayer(opts: MetricsLayerOptions): Middleware {
  const { metrics, direction, service } = opts;
  // Series handles built once per (source, destination, route) and code and reused: no label
  // hashing, no String(status) and no SPIFFE parsing per request.
  const series = new Map<string, Series>();
  const peers = new Map<string, string>();
  const seriesOf = (ctx: RequestContext): Series => {
    let source = service;
    let destination = service;
    if (direction === "outbound") destination = ctx.logical ?? UNKNOWN;
    else {
      const id = ctx.peerIdentity;
      if (id) {
        let s = peers.get(id);
        if (s === undefined) {
          s = peerService(id);
          if (peers.size < MAX_SERIES) peers.set(id, s);
        }
        source = s;
      } else source = UNKNOWN;
    }
    const route = ctx.route ?? "";
    const key = `${source}\n${destination}\n${route}`;
    let s = series.get(key);
    if (!s) {
      const labels = { direction, source, destination, route };
      s = {
        labels,
        byCode: new Map(),
        duration: histogramSeries(metrics.requestDuration, labels),
        retries: counterSeries(metrics.retries, { destination, route }),
      };
      if (series.size < MAX_SERIES) series.set(key, s);
    }
    return s;
  };
  const record = (ctx: RequestContext, status: number) => {
    const s = seriesOf(ctx);
    let requests = s.byCode.get(status);
    if (!requests) {
      requests = counterSeries(metrics.requests, { ...s.labels, code: String(status) });
      s.byCode.set(status, requests);
    }
    requests.inc();
    s.duration.observe(Number(process.hrtime.bigint() - ctx.startedAt) / 1e9);
    const retries = ctx.annotations.retries;
    if (typeof retries === "number" && retries > 0) s.retries.inc(retries);
  };
  return (next) => (req, ctx) =>
    invoke(next, req, ctx).then(
      (res) => {
        // Counted by the status sent; a body cut short is visible in the access log and the span.
        onBodyEnd(res, () => record(ctx, res.status));
        return res;
      },
      (err: unknown) => {
        record(ctx, statusOfError(err));
        throw err;
      },
    );
}
