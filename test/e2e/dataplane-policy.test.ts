// Traffic policy end to end (C2's layers on the real data path): retries hide a backend failing
// 30% of requests, a hanging endpoint is ejected, weighted split ratios, fault abort/delay and an
// AuthorizationPolicy 403 at the receiving sidecar.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { AuthorizationPolicy, DestinationPolicy, HTTPRoute } from "../../shared/schema/kinds.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

const meta = (name: string) => ({ name });
const route = (name: string, spec: HTTPRoute["spec"]): HTTPRoute => ({ apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: meta(name), spec });
const policy = (name: string, spec: DestinationPolicy["spec"]): DestinationPolicy => ({ apiVersion: "tsmesh.dev/v1", kind: "DestinationPolicy", metadata: meta(name), spec });

let pki: TestPki;
const apps: TestApp[] = [];
const sidecars: SidecarProcess[] = [];
let a: SidecarProcess;
let hangingApp: TestApp;

async function app(b: Parameters<typeof startEchoApp>[0]): Promise<TestApp> {
  const x = await startEchoApp(b);
  apps.push(x);
  return x;
}

async function sidecar(service: string, appPort: number, authz: AuthorizationPolicy[] = []): Promise<SidecarProcess> {
  const s = await startPkiSidecar(pki, service, appPort, snapshotOf({ authz }));
  sidecars.push(s);
  return s;
}

beforeAll(async () => {
  pki = createTestPki("policy");
  const [flaky1, flaky2, ok1, ok2, v1, v2, secureApp] = await Promise.all([
    app({ name: "flaky1", failRate: 0.3 }),
    app({ name: "flaky2", failRate: 0.3 }),
    app({ name: "ok1" }),
    app({ name: "ok2" }),
    app({ name: "v1" }),
    app({ name: "v2" }),
    app({ name: "secure" }),
  ]);
  hangingApp = await app({ name: "hang", hang: true });
  const secureAuthz: AuthorizationPolicy = {
    apiVersion: "tsmesh.dev/v1",
    kind: "AuthorizationPolicy",
    metadata: meta("secure-public-only"),
    spec: { service: "secure", action: "ALLOW", rules: [{ paths: ["/public/*"] }] },
  };
  const [f1, f2, p1, p2, p3, s1, s2, sec] = await Promise.all([
    sidecar("flaky", flaky1.port),
    sidecar("flaky", flaky2.port),
    sidecar("pool", ok1.port),
    sidecar("pool", ok2.port),
    sidecar("pool", hangingApp.port),
    sidecar("v1", v1.port),
    sidecar("v2", v2.port),
    sidecar("secure", secureApp.port, [secureAuthz]),
  ]);
  const snapshot = snapshotOf({
    routes: [
      route("flaky", {
        hosts: ["flaky"],
        rules: [{ backends: [{ service: "flaky", weight: 1 }], retry: { attempts: 8, retryOn: ["5xx"], backoff: { base: "1ms", max: "5ms" } } }],
      }),
      route("pool", {
        hosts: ["pool"],
        rules: [{ backends: [{ service: "pool", weight: 1 }], retry: { attempts: 3, perTryTimeout: "300ms", retryOn: ["5xx", "reset", "connect-failure"] } }],
      }),
      route("split", { hosts: ["split"], rules: [{ backends: [{ service: "v1", weight: 80 }, { service: "v2", weight: 20 }] }] }),
      route("faulty", {
        hosts: ["faulty"],
        rules: [
          { matches: [{ path: { type: "PathPrefix", value: "/abort" } }], backends: [{ service: "v1", weight: 1 }], fault: { abort: { percent: 100, status: 418 } } },
          { matches: [{ path: { type: "PathPrefix", value: "/delay" } }], backends: [{ service: "v1", weight: 1 }], fault: { delay: { percent: 100, duration: "300ms" } } },
        ],
      }),
    ],
    policies: [
      policy("flaky", { service: "flaky", loadBalancer: "round-robin", retryBudget: { percent: 100, minRetriesPerSecond: 1000 } }),
      policy("pool", {
        service: "pool",
        loadBalancer: "round-robin",
        outlierDetection: { consecutive5xx: 2, interval: "1s", baseEjectionTime: "60s", maxEjectionPercent: 50 },
      }),
    ],
    endpoints: {
      flaky: endpointsAt("flaky", [f1.inbound, f2.inbound]),
      pool: endpointsAt("pool", [p1.inbound, p2.inbound, p3.inbound]),
      v1: endpointsAt("v1", [s1.inbound]),
      v2: endpointsAt("v2", [s2.inbound]),
      secure: endpointsAt("secure", [sec.inbound]),
    },
  });
  a = await startPkiSidecar(pki, "a", 1, snapshot);
  sidecars.push(a);
}, 120_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop("SIGKILL")));
  await Promise.all(apps.map((x) => x.close()));
  pki?.cleanup();
});

async function get(host: string, path = "/"): Promise<{ status: number; app?: string; ms: number; body: string }> {
  const t0 = performance.now();
  const res = await request(`http://127.0.0.1:${a.outbound}${path}`, { headers: { host } });
  const body = await res.body.text();
  const app = res.statusCode === 200 ? (JSON.parse(body) as EchoReply).app : undefined;
  return { status: res.statusCode, app, ms: performance.now() - t0, body };
}

/** Runs `total` requests with `concurrency` workers (bounded count, and a time bound by the test timeout). */
async function load<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) out.push(await one(next++));
    }),
  );
  return out;
}

describe("retries", () => {
  it("a backend failing 30% of requests: >= 99.9% success over 2,000 requests", async () => {
    const results = await load(2000, 10, () => get("flaky"));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok / results.length).toBeGreaterThanOrEqual(0.999);
  }, 60_000);
});

describe("outlier detection", () => {
  it("one of three endpoints hanging is ejected; later requests are fast", async () => {
    // Warm-up until ejection: each request that meets the hanging endpoint waits its per-try
    // timeout, then is retried elsewhere.
    const warm = await load(30, 3, () => get("pool"));
    expect(warm.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(27);
    const hangsBefore = hangingApp.count();
    expect(hangsBefore).toBeGreaterThan(0);
    const after = await load(60, 3, () => get("pool"));
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(hangingApp.count()).toBe(hangsBefore);
    // Requests no longer wait for the hanging endpoint's per-try timeout (300 ms).
    const sorted = after.map((r) => r.ms).sort((x, y) => x - y);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(150);
  }, 30_000);
});

describe("weighted split", () => {
  it("80/20 between v1 and v2 within tolerance", async () => {
    const results = await load(600, 6, () => get("split"));
    const v2 = results.filter((r) => r.app === "v2").length / results.length;
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(v2).toBeGreaterThan(0.13);
    expect(v2).toBeLessThan(0.27);
  }, 30_000);
});

describe("fault injection", () => {
  it("abort answers the configured status without reaching the app; delay holds the request", async () => {
    const abort = await get("faulty", "/abort/x");
    expect(abort.status).toBe(418);
    const delayed = await get("faulty", "/delay/x");
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(290);
  });
});

describe("authorization", () => {
  it("the receiving sidecar answers 403 with a clear body outside the allowed paths", async () => {
    expect((await get("secure", "/public/info")).status).toBe(200);
    const denied = await get("secure", "/private");
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ code: "TSMESH_ERR_FORBIDDEN" });
  });
});
