// The decision layers composed in the order the outbound listener uses, over a scripted upstream:
// proves they work together (retries reach other endpoints, outliers drop out, budget bounds).
import { describe, expect, it } from "vitest";
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { HTTPRoute } from "../../../shared/schema/kinds.js";
import { compose, type Endpoint, type Handler, type MeshRequest, type RequestContext } from "../../core/handler.js";
import { balancerLayer } from "../../upstream/balancer/layer.js";
import { LoadTracker } from "../../upstream/balancer/load.js";
import { PickerCache } from "../../upstream/balancer/pickers.js";
import { createDefaultBalancerRegistry } from "../../upstream/balancer/registry.js";
import { OutlierDetectors } from "../../upstream/outlier/detectors.js";
import { outlierLayer } from "../../upstream/outlier/layer.js";
import { CircuitBreakers } from "../circuit-breaker/breakers.js";
import { circuitBreakerLayer } from "../circuit-breaker/layer.js";
import { faultLayer } from "../fault/layer.js";
import { routeLayer } from "../route/layer.js";
import { buildRouteTable } from "../route/table.js";
import { splitLayer } from "../split/layer.js";
import { timeoutLayer } from "../timeout/layer.js";
import { RetryBudgets } from "./budget.js";
import { retryLayer } from "./layer.js";

/** Deterministic PRNG (mulberry32) so the failure pattern is the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const eps: Endpoint[] = [1, 2, 3].map((port) => ({ address: `127.0.0.1:${port}`, host: "127.0.0.1", port, labels: {}, identity: "" }));
const route: HTTPRoute = {
  apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: "backend" },
  spec: { hosts: ["backend"], rules: [{ backends: [{ service: "backend", weight: 1 }], timeout: "2s", retry: { attempts: 7, retryOn: ["5xx"], backoff: { base: "1ms", max: "4ms" } } }] },
};
const req = (): MeshRequest => ({ method: "GET", authority: "backend:80", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal });
const ctx = (): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {} });

function outbound(policy: DestinationPolicySpec, upstream: Handler) {
  const load = new LoadTracker();
  const outliers = new OutlierDetectors();
  const pickers = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: () => eps, load, isEjected: outliers.isEjected });
  const breakers = new CircuitBreakers();
  const table = buildRouteTable([route]);
  const handler = compose(
    routeLayer(() => table),
    splitLayer(() => policy),
    faultLayer(),
    timeoutLayer(),
    circuitBreakerLayer(breakers),
    retryLayer({ budgets: new RetryBudgets(), acquireRetry: breakers.acquireRetry }),
    balancerLayer(pickers, load),
    outlierLayer(outliers),
  )(upstream);
  return { handler, outliers };
}

async function run(handler: Handler, total: number, concurrency: number) {
  let ok = 0;
  let retries = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const c = ctx();
        const res = await handler(req(), c).catch(() => undefined);
        if (res?.status === 200) ok++;
        retries += Number(c.annotations.retries ?? 0);
      }
    }),
  );
  return { ok, retries };
}

describe("outbound decision stack", () => {
  it("keeps success >= 99.9% against a backend failing 30% of requests, with a generous retry budget", async () => {
    const random = seeded(7);
    const upstream: Handler = async () => {
      await new Promise((r) => setImmediate(r));
      return { status: random() < 0.3 ? 503 : 200, headers: {}, body: null };
    };
    const policy: DestinationPolicySpec = { service: "default/backend", loadBalancer: "least-request", retryBudget: { percent: 100, minRetriesPerSecond: 10 } };
    const { handler } = outbound(policy, upstream);
    const { ok, retries } = await run(handler, 2000, 8);
    expect(ok / 2000).toBeGreaterThanOrEqual(0.999);
    expect(retries).toBeGreaterThan(500);
  });

  it("bounds retries by the default 20% budget when the backend fails hard", async () => {
    const upstream: Handler = async () => {
      await new Promise((r) => setTimeout(r, 1));
      return { status: 503, headers: {}, body: null };
    };
    const { handler } = outbound({ service: "default/backend", loadBalancer: "round-robin", retryBudget: { percent: 20, minRetriesPerSecond: 10 } }, upstream);
    const { ok, retries } = await run(handler, 300, 20);
    expect(ok).toBe(0);
    // Unbounded, 300 requests x 7 retries = 2100; the budget grants 20% of 300 plus the 10 s x 10/s reserve.
    expect(retries).toBeLessThanOrEqual(160);
  });

  it("ejects an endpoint that always fails, so later requests need no retries", async () => {
    const upstream: Handler = async (_r, c) => ({ status: c.endpoint!.port === 2 ? 500 : 200, headers: {}, body: null });
    const policy: DestinationPolicySpec = {
      service: "default/backend", loadBalancer: "round-robin",
      outlierDetection: { consecutive5xx: 3, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 34 },
    };
    const { handler, outliers } = outbound(policy, upstream);
    const first = await run(handler, 30, 1);
    expect(first.ok).toBe(30);
    expect(outliers.isEjected("default/backend", "127.0.0.1:2")).toBe(true);
    const later = await run(handler, 30, 1);
    expect([later.ok, later.retries]).toEqual([30, 0]);
  });
});
