// Request metrics, recorded once per request when its response body is finished with:
// tsmesh_requests_total, tsmesh_request_duration_seconds and tsmesh_retries_total.
// Put it first on each listener's stack so the duration covers every other layer.
import { parseSpiffeId } from "../../../shared/identity.js";
import { serviceKey } from "../../../shared/service-key.js";
import type { Direction, SidecarMetrics } from "../../../shared/metrics/index.js";
import { counterSeries, histogramSeries, type CounterSeries, type HistogramSeries } from "../../../shared/metrics/series.js";
import { invoke, type Middleware, type RequestContext } from "../../core/handler.js";
import { onBodyEnd, statusOfError } from "../../telemetry/response-end.js";

export const UNKNOWN = "unknown";

export interface MetricsLayerOptions {
  metrics: Pick<SidecarMetrics, "requests" | "requestDuration" | "retries">;
  direction: Direction;
  /** This sidecar's service key, "<namespace>/<service>". */
  service: string;
}

/** "<namespace>/<service>" of a verified SPIFFE ID; "unknown" for plaintext (PERMISSIVE) or foreign IDs. */
export function peerService(identity: string | undefined): string {
  const id = identity ? parseSpiffeId(identity) : undefined;
  return id ? serviceKey(id.namespace, id.service) : UNKNOWN;
}

interface Series {
  labels: { direction: Direction; source: string; destination: string; route: string };
  /** Request counter per status code. */
  byCode: Map<number, CounterSeries>;
  duration: HistogramSeries;
  retries: CounterSeries;
}

/** Bounds the series-handle cache (series are bounded by routes x peers anyway). */
const MAX_SERIES = 10_000;

export function metricsLayer(opts: MetricsLayerOptions): Middleware {
  const { metrics, direction, service } = opts;
  // Series handles built once per (peer, route) and code and reused: no label hashing, no key
  // string, no String(status) and no SPIFFE parsing per request. The peer is the caller's
  // identity inbound (several may map to one service: their handles share the series) and the
  // logical destination outbound.
  const series = new Map<string, Map<string, Series>>();
  let count = 0;
  const create = (peer: string, route: string): Series => {
    const source = direction === "outbound" ? service : peerService(peer);
    const destination = direction === "outbound" ? peer : service;
    const labels = { direction, source, destination, route };
    return {
      labels,
      byCode: new Map(),
      duration: histogramSeries(metrics.requestDuration, labels),
      retries: counterSeries(metrics.retries, { destination, route }),
    };
  };
  const seriesOf = (ctx: RequestContext): Series => {
    const peer = direction === "outbound" ? (ctx.logical ?? UNKNOWN) : (ctx.peerIdentity ?? "");
    const route = ctx.route ?? "";
    let byRoute = series.get(peer);
    let s = byRoute?.get(route);
    if (s) return s;
    s = create(peer, route);
    if (count < MAX_SERIES) {
      count++;
      if (!byRoute) series.set(peer, (byRoute = new Map()));
      byRoute.set(route, s);
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
