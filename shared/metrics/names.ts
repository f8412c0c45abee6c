// Metric names and label sets: one source for the sidecar, the control plane, dashboards and
// tests. Names are public (ARCHITECTURE.md): add new ones freely, never rename.

/** Latency buckets in seconds: sub-millisecond proxy overhead up to 10 s timeouts. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const REQUEST_LABELS = ["direction", "source", "destination", "route", "code"] as const;
/**
 * The duration histogram leaves out `code`: 14 buckets x every status code seen would multiply
 * series; the error rate comes from tsmesh_requests_total and latency per route is what matters.
 */
export const DURATION_LABELS = ["direction", "source", "destination", "route"] as const;

export const METRIC = {
  requests: "tsmesh_requests_total",
  requestDuration: "tsmesh_request_duration_seconds",
  retries: "tsmesh_retries_total",
  circuitOpen: "tsmesh_circuit_open",
  outlierEjections: "tsmesh_outlier_ejections_total",
  configVersion: "tsmesh_config_version",
  certExpiry: "tsmesh_cert_expiry_seconds",
  cpPushes: "tsmesh_cp_pushes_total",
  cpPushLatency: "tsmesh_cp_push_latency_seconds",
  cpConnectedSidecars: "tsmesh_cp_connected_sidecars",
  cpCertsIssued: "tsmesh_cp_certs_issued_total",
  cpEtcdErrors: "tsmesh_cp_etcd_errors_total",
} as const;

export type Direction = "inbound" | "outbound";
/** Outcome of one config push to one sidecar. */
export type PushResult = "ack" | "nack" | "error";
