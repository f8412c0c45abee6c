// Request metrics, recorded once per request when its response body is finished with:
// tsmesh_requests_total, tsmesh_request_duration_seconds and tsmesh_retries_total.
// Put it first on each listener's stack so the duration covers every other layer.
import { parseSpiffeId } from "../../../shared/identity.js";
import type { Direction, SidecarMetrics } from "../../../shared/metrics/index.js";
import type { Middleware, RequestContext } from "../../core/handler.js";
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

export function metricsLayer(opts: MetricsLayerOptions): Middleware {
  const { metrics, direction, service } = opts;
  const record = (ctx: RequestContext, status: number) => {
    const labels = {
      direction,
      source: direction === "outbound" ? service : peerService(ctx.peerIdentity),
      destination: direction === "outbound" ? (ctx.logical ?? UNKNOWN) : service,
      route: ctx.route ?? "",
    };
    metrics.requests.inc({ ...labels, code: String(status) });
    metrics.requestDuration.observe(labels, Number(process.hrtime.bigint() - ctx.startedAt) / 1e9);
    const retries = ctx.annotations.retries;
    if (typeof retries === "number" && retries > 0) {
      metrics.retries.inc({ destination: labels.destination, route: labels.route }, retries);
    }
  };
  return (next) => async (req, ctx) => {
    let res;
    try {
      res = await next(req, ctx);
    } catch (err) {
      record(ctx, statusOfError(err));
      throw err;
    }
    // Counted by the status sent; a body cut short is visible in the access log and the span.
    onBodyEnd(res, () => record(ctx, res.status));
    return res;
  };
}
