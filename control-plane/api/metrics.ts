// Control-plane metrics on their own prom-client registry (not the global one), so several
// control planes in one test process do not collide.
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createControlPlaneMetrics } from "../../shared/metrics/index.js";

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<"method" | "route" | "code">;
  duration: Histogram<"method" | "route">;
  etcdErrors: Counter<"op">;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tsmesh_cp_" });
  return {
    registry,
    requests: new Counter({
      name: "tsmesh_api_requests_total",
      help: "Control-plane API requests by method, route pattern and status code.",
      labelNames: ["method", "route", "code"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "tsmesh_api_request_duration_seconds",
      help: "Control-plane API request latency.",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    // tsmesh_cp_etcd_errors_total{op}: one control-plane metric family (shared/metrics names).
    etcdErrors: createControlPlaneMetrics(registry).etcdErrors,
  };
}
