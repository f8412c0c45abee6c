import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createControlPlaneMetrics, createSidecarMetrics, setConfigVersion } from "./factory.js";
import { LATENCY_BUCKETS, METRIC } from "./names.js";

describe("metrics factory", () => {
  it("creates every public metric name on the given registry only", async () => {
    const reg = new Registry();
    createSidecarMetrics(reg);
    createControlPlaneMetrics(reg);
    const names = (await reg.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual(Object.values(METRIC).sort());
    // Nothing leaked into a second registry.
    expect(await new Registry().getMetricsAsJSON()).toEqual([]);
  });

  it("is idempotent and reuses a metric another part registered first", () => {
    const reg = new Registry();
    const certExpiry = new Gauge({ name: METRIC.certExpiry, help: "from identity", registers: [reg] });
    const a = createSidecarMetrics(reg);
    const b = createSidecarMetrics(reg);
    expect(a.certExpiry).toBe(certExpiry);
    expect(b.requests).toBe(a.requests);
  });

  it("refuses a same-named metric of another type", () => {
    const reg = new Registry();
    new Gauge({ name: METRIC.requests, help: "wrong", registers: [reg] });
    expect(() => createSidecarMetrics(reg)).toThrow(/TSMESH_ERR_METRIC_TYPE/);
  });

  it("exposes labelled values and sub-ms buckets in the text format", async () => {
    const reg = new Registry();
    const m = createSidecarMetrics(reg);
    const labels = { direction: "outbound", source: "a", destination: "b", route: "r#0" };
    m.requests.inc({ ...labels, code: "200" });
    m.requests.inc({ ...labels, code: "200" });
    m.requestDuration.observe(labels, 0.0003);
    setConfigVersion(m, "42");
    const text = await reg.metrics();
    expect(text).toContain('tsmesh_requests_total{direction="outbound",source="a",destination="b",route="r#0",code="200"} 2');
    expect(text).toContain('tsmesh_request_duration_seconds_bucket{le="0.0005",direction="outbound",source="a",destination="b",route="r#0"} 1');
    expect(text).toContain("tsmesh_config_version 42");
    expect(LATENCY_BUCKETS[0]).toBe(0.0005);
    expect(LATENCY_BUCKETS.at(-1)).toBe(10);
  });

  it("reads circuit state at scrape time", async () => {
    const reg = new Registry();
    let open = false;
    createSidecarMetrics(reg, { circuitStates: () => [{ destination: "reviews", open }] });
    expect(await reg.metrics()).toContain('tsmesh_circuit_open{destination="reviews"} 0');
    open = true;
    expect(await reg.metrics()).toContain('tsmesh_circuit_open{destination="reviews"} 1');
  });
});
