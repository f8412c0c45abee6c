// The policy the demo applies through the REST API: a 90/10 canary of orders (subsets on the
// `version` label), retries on both hops, connection limits and outlier detection on inventory,
// and tracing at 100% sampling so every request has a trace id.
export interface DemoPolicyOptions {
  /** Percent of orders traffic for v2 (0..100). */
  canaryPercent: number;
  otlpEndpoint?: string;
}

const meta = (name: string) => ({ name });

export function demoResources(opts: DemoPolicyOptions): Array<{ plural: string; body: Record<string, unknown> }> {
  const v2 = Math.round(opts.canaryPercent);
  return [
    {
      plural: "meshconfig",
      body: {
        apiVersion: "tsmesh.dev/v1",
        kind: "MeshConfig",
        metadata: meta("default"),
        spec: { mtls: "STRICT", logLevel: "warn", tracing: { sampling: 1, ...(opts.otlpEndpoint ? { otlpEndpoint: opts.otlpEndpoint } : {}) } },
      },
    },
    {
      plural: "policies",
      body: {
        apiVersion: "tsmesh.dev/v1",
        kind: "DestinationPolicy",
        metadata: meta("orders"),
        spec: {
          service: "orders",
          loadBalancer: "least-request",
          subsets: [
            { name: "v1", labels: { version: "v1" } },
            { name: "v2", labels: { version: "v2" } },
          ],
        },
      },
    },
    {
      plural: "routes",
      body: {
        apiVersion: "tsmesh.dev/v1",
        kind: "HTTPRoute",
        metadata: meta("orders"),
        spec: {
          hosts: ["orders"],
          rules: [
            {
              backends: [
                { service: "orders", subset: "v1", weight: 100 - v2 },
                { service: "orders", subset: "v2", weight: v2 },
              ],
              timeout: "3s",
              retry: { attempts: 3, perTryTimeout: "1s", retryOn: ["5xx", "reset", "connect-failure"], backoff: { base: "10ms", max: "100ms" } },
            },
          ],
        },
      },
    },
    {
      plural: "policies",
      body: {
        apiVersion: "tsmesh.dev/v1",
        kind: "DestinationPolicy",
        metadata: meta("inventory"),
        spec: {
          service: "inventory",
          connectionPool: { maxConnections: 8, maxPendingRequests: 4, maxRequests: 4 },
          outlierDetection: { consecutive5xx: 4, interval: "5s", baseEjectionTime: "1s", maxEjectionPercent: 100 },
          retryBudget: { percent: 50, minRetriesPerSecond: 10 },
        },
      },
    },
    {
      plural: "routes",
      body: {
        apiVersion: "tsmesh.dev/v1",
        kind: "HTTPRoute",
        metadata: meta("inventory"),
        spec: {
          hosts: ["inventory"],
          rules: [
            {
              backends: [{ service: "inventory", weight: 1 }],
              timeout: "2s",
              retry: { attempts: 3, perTryTimeout: "500ms", retryOn: ["5xx", "reset", "connect-failure"], backoff: { base: "5ms", max: "50ms" } },
            },
          ],
        },
      },
    },
  ];
}
