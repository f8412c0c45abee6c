import { Readable } from "node:stream";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createSidecarMetrics } from "../../../shared/metrics/index.js";
import { MeshError, type Handler, type MeshRequest, type RequestContext } from "../../core/handler.js";
import { metricsLayer, peerService } from "./layer.js";

const req: MeshRequest = {
  method: "GET",
  authority: "reviews",
  path: "/",
  headers: {},
  body: { kind: "empty" },
  protocol: "http/1.1",
  signal: new AbortController().signal,
};
const ctx = (over: Partial<RequestContext> = {}): RequestContext => ({
  requestId: "r",
  startedAt: process.hrtime.bigint(),
  attempt: 0,
  failedEndpoints: new Set(),
  annotations: {},
  ...over,
});

async function value(reg: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

describe("metrics layer", () => {
  it("counts outbound requests by destination, route and code when the body ends, plus retries", async () => {
    const reg = new Registry();
    const metrics = createSidecarMetrics(reg);
    const upstream: Handler = async (_req, c) => {
      c.logical = "default/reviews";
      c.route = "r#0";
      c.annotations.retries = 2;
      return { status: 200, headers: {}, body: Readable.from(["a", "b"]) };
    };
    const h = metricsLayer({ metrics, direction: "outbound", service: "default/productpage" })(upstream);
    const labels = { direction: "outbound", source: "default/productpage", destination: "default/reviews", route: "r#0", code: "200" };
    for (let i = 0; i < 3; i++) {
      const res = await h(req, ctx());
      expect((await value(reg, "tsmesh_requests_total", labels)) ?? 0).toBe(i); // not before the body ends
      for await (const _ of res.body!) void _;
    }
    expect(await value(reg, "tsmesh_requests_total", labels)).toBe(3);
    expect(await value(reg, "tsmesh_retries_total", { destination: "default/reviews", route: "r#0" })).toBe(6);
    const { code: _c, ...durLabels } = labels;
    expect(await value(reg, "tsmesh_request_duration_seconds", { ...durLabels, le: "+Inf" })).toBe(3);
  });

  it("counts inbound by peer service, and errors by the status the listener will send", async () => {
    const reg = new Registry();
    const metrics = createSidecarMetrics(reg);
    const boom: Handler = async () => {
      throw new MeshError(503, "TSMESH_ERR_OVERFLOW", "overflow");
    };
    const h = metricsLayer({ metrics, direction: "inbound", service: "default/reviews" })(boom);
    await expect(h(req, ctx({ peerIdentity: "spiffe://cluster.local/ns/default/sa/productpage" }))).rejects.toThrow();
    await expect(h(req, ctx({ peerIdentity: "spiffe://cluster.local/ns/evil/sa/productpage" }))).rejects.toThrow();
    await expect(h(req, ctx())).rejects.toThrow();
    const base = { direction: "inbound", destination: "default/reviews", route: "", code: "503" };
    expect(await value(reg, "tsmesh_requests_total", { ...base, source: "default/productpage" })).toBe(1);
    expect(await value(reg, "tsmesh_requests_total", { ...base, source: "evil/productpage" })).toBe(1);
    expect(await value(reg, "tsmesh_requests_total", { ...base, source: "unknown" })).toBe(1);
  });

  it("records the duration of the whole exchange", async () => {
    const reg = new Registry();
    const metrics = createSidecarMetrics(reg);
    const slow: Handler = async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { status: 204, headers: {}, body: null };
    };
    await metricsLayer({ metrics, direction: "outbound", service: "a" })(slow)(req, ctx());
    const m = (await reg.getMetricsAsJSON()).find((x) => x.name === "tsmesh_request_duration_seconds")!;
    const s = m.values.find((x) => (x as { metricName?: string }).metricName === "tsmesh_request_duration_seconds_sum")!.value;
    expect(s).toBeGreaterThanOrEqual(0.025);
    expect(s).toBeLessThan(1);
  });

  it("maps SPIFFE IDs to <namespace>/<service>", () => {
    expect(peerService("spiffe://cluster.local/ns/shop/sa/cart")).toBe("shop/cart");
    expect(peerService("spiffe://x/y")).toBe("unknown");
    expect(peerService(undefined)).toBe("unknown");
  });
});
