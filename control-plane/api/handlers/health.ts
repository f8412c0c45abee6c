// Unauthenticated probes and metrics: /healthz (process up), /readyz (etcd reachable), /metrics.
import type { Registry } from "prom-client";
import type { ApiContext, ApiHandler, ApiResult } from "../router.js";

export async function healthz(): Promise<ApiResult> {
  return { status: 200, body: { status: "ok" } };
}

export async function readyz(ctx: ApiContext): Promise<ApiResult> {
  try {
    await ctx.store.ping();
    return { status: 200, body: { status: "ready" } };
  } catch {
    return { status: 503, body: { status: "etcd unreachable", code: "TSMESH_ERR_STORE_UNAVAILABLE" } };
  }
}

export function metricsHandler(registry: Registry): ApiHandler {
  return async () => ({ status: 200, text: await registry.metrics(), contentType: registry.contentType });
}
