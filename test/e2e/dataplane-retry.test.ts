// Retries on the real data path (client -> sidecar A -> mTLS -> peer sidecars -> apps): the retry
// budget at the rates of issue 12 (200 rps), connect failures retried on another endpoint with no
// route policy and no budget, gRPC UNAVAILABLE (HTTP 200, grpc-status 14) retried by default, and
// an app's 503 retried only when a route asks for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { freePort } from "../../shared/net/free-port.js";
import type { DestinationPolicy, HTTPRoute } from "../../shared/schema/kinds.js";
import { startEchoApp, type TestApp } from "../harness/apps.js";
import { echoClientVia, say, startGrpcEcho } from "../harness/grpc-echo.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

const route = (host: string, retry: NonNullable<HTTPRoute["spec"]["rules"][number]["retry"]>): HTTPRoute => ({
  apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: host },
  spec: { hosts: [host], rules: [{ backends: [{ service: host, weight: 1 }], retry }] },
});
const policy = (spec: DestinationPolicy["spec"]): DestinationPolicy => ({ apiVersion: "tsmesh.dev/v1", kind: "DestinationPolicy", metadata: { name: spec.service }, spec });

let pki: TestPki;
const apps: TestApp[] = [];
const sidecars: SidecarProcess[] = [];
let a: SidecarProcess;
let grpcApp: Awaited<ReturnType<typeof startGrpcEcho>>;
let onceApp: TestApp;
let onceRoutedApp: TestApp;

beforeAll(async () => {
  pki = createTestPki("retry");
  const [healthy, flaky, broken, plain, once, onceRouted] = await Promise.all([
    startEchoApp({ name: "healthy" }),
    startEchoApp({ name: "sometimes", failRate: 0.1 }),
    startEchoApp({ name: "broken", failEvery: 1 }),
    startEchoApp({ name: "plain" }),
    startEchoApp({ name: "once", failFirst: 1 }),
    startEchoApp({ name: "once-routed", failFirst: 1 }),
  ]);
  apps.push(healthy, flaky, broken, plain, once, onceRouted);
  onceApp = once;
  onceRoutedApp = onceRouted;
  grpcApp = await startGrpcEcho({ unavailableFirst: 2 });
  const [b1, b2, down, half, rpc, o1, o2] = await Promise.all([
    startPkiSidecar(pki, "budget", healthy.port),
    startPkiSidecar(pki, "budget", flaky.port),
    startPkiSidecar(pki, "down", broken.port),
    startPkiSidecar(pki, "half", plain.port),
    startPkiSidecar(pki, "grpcflaky", grpcApp.port),
    startPkiSidecar(pki, "once", once.port),
    startPkiSidecar(pki, "oncerouted", onceRouted.port),
  ]);
  sidecars.push(b1, b2, down, half, rpc, o1, o2);
  // Nothing listens there: every connection to it is refused.
  const closed = await freePort();
  const fast = { base: "1ms", max: "5ms" };
  const snapshot = snapshotOf({
    routes: [
      route("budget", { attempts: 2, retryOn: ["5xx"] }),
      route("down", { attempts: 2, retryOn: ["5xx"], backoff: fast }),
      route("oncerouted", { attempts: 2, retryOn: ["5xx"], backoff: fast }),
    ],
    // No route for "half", "grpcflaky" or "once": the default retry policy applies.
    policies: [policy({ service: "half", loadBalancer: "round-robin", retryBudget: { percent: 0, minRetriesPerSecond: 0 } })],
    endpoints: {
      budget: endpointsAt("budget", [b1.inbound, b2.inbound]),
      down: endpointsAt("down", [down.inbound]),
      half: endpointsAt("half", [closed, half.inbound]),
      grpcflaky: endpointsAt("grpcflaky", [rpc.inbound]),
      once: endpointsAt("once", [o1.inbound]),
      oncerouted: endpointsAt("oncerouted", [o2.inbound]),
    },
  });
  a = await startPkiSidecar(pki, "a", 1, snapshot);
  sidecars.push(a);
}, 60_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop("SIGKILL")));
  await Promise.all([...apps.map((x) => x.close()), grpcApp?.close()]);
  pki?.cleanup();
});

/** `total` GETs to `host` started at `rps` (open loop, as independent clients would); their statuses. */
async function paced(host: string, total: number, rps: number): Promise<number[]> {
  const t0 = performance.now();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rps - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait)); // pacing the load, not waiting on a state
    pending.push(
      request(`http://127.0.0.1:${a.outbound}/`, { headers: { host } }).then(
        async (res) => (await res.body.text(), res.statusCode),
        () => 0,
      ),
    );
  }
  return Promise.all(pending);
}

/** tsmesh_retries_total of sidecar A to `destination` ("<namespace>/<service>"), summed over routes. */
async function retriesTo(destination: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${a.admin}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^tsmesh_retries_total\{([^}]*)\} (\d+)/gm)) if (m[1]!.includes(`destination="${destination}"`)) n += Number(m[2]);
  return n;
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe("retry budget (20% of requests over 10 s plus 10 retries/s)", () => {
  it("retry_budget_far_tighter_than_20_percent: at 200 rps with one instance failing 10% at random, no 503 reaches the client", async () => {
    const statuses = await paced("budget", 600, 200);
    // Each failed attempt is retried on the healthy instance, so a 503 reaching the client is a retry the budget refused.
    expect(count(statuses, 503)).toBe(0);
    expect(count(statuses, 200)).toBe(600);
    expect(await retriesTo("default/budget")).toBeGreaterThan(10);
  }, 30_000);

  it("against an instance failing every request, it grants 20% of requests plus the 100-retry reserve, no more", async () => {
    const statuses = await paced("down", 400, 200);
    expect(count(statuses, 503)).toBe(400);
    // 800 retries asked for; 0.2 x 400 + 10/s x 10 s = 180 granted, less any deposit still short of a whole retry.
    const retries = await retriesTo("default/down");
    expect(retries).toBeGreaterThanOrEqual(170);
    expect(retries).toBeLessThanOrEqual(180);
  }, 30_000);
});

describe("connect failures", () => {
  it("connect_failure_not_retried_without_policy_or_budget: one endpoint a closed port, budget empty, no failed request", async () => {
    const statuses = await paced("half", 200, 100);
    expect(count(statuses, 200)).toBe(200);
    // The closed port really was picked (and each such request retried on the live endpoint).
    expect(await retriesTo("default/half")).toBeGreaterThanOrEqual(50);
  }, 30_000);
});

describe("503 from the app (Istio 1.24 EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY)", () => {
  const get = async (host: string) => {
    const res = await request(`http://127.0.0.1:${a.outbound}/`, { headers: { host } });
    await res.body.text();
    return res.statusCode;
  };

  it("unsafe_503_retried_by_default: with no route retry policy, an app answering 503 once is not retried", async () => {
    expect(await get("once")).toBe(503);
    expect(onceApp.count()).toBe(1);
    expect(await retriesTo("default/once")).toBe(0);
  });

  it("a route with retryOn [5xx] still retries the app's 503", async () => {
    expect(await get("oncerouted")).toBe(200);
    expect(onceRoutedApp.count()).toBe(2);
    expect(await retriesTo("default/oncerouted")).toBe(1);
  });
});

describe("gRPC", () => {
  it("grpc_failures_not_retryable: UNAVAILABLE (HTTP 200, grpc-status 14) is retried by default and the client sees OK", async () => {
    const client = echoClientVia(a.outbound, "grpcflaky");
    try {
      const reply = await say(client, "hi");
      expect(reply.message).toBe("echo: hi");
    } finally {
      client.close();
    }
    expect(grpcApp.calls()).toBe(3);
    expect(await retriesTo("default/grpcflaky")).toBe(2);
  });
});
