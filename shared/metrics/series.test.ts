import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { counterSeries, histogramSeries } from "./series.js";

const BUCKETS = [0.0005, 0.001, 0.0025, 1, 5, 10];
const LABELS = { direction: "inbound", source: "a", destination: "b", route: "r#0" };

function pair() {
  const reg = new Registry();
  const mk = (name: string) => ({
    c: new Counter({ name: `${name}_total`, help: "h", labelNames: ["direction", "source", "destination", "route", "code"], registers: [reg] }),
    h: new Histogram({ name: `${name}_seconds`, help: "h", labelNames: ["direction", "source", "destination", "route"], buckets: BUCKETS, registers: [reg] }),
  });
  return { reg, viaApi: mk("api"), viaSeries: mk("series") };
}

/** The exposition of one metric with its name replaced, to compare two metrics line by line. */
async function text(reg: Registry, name: string): Promise<string> {
  return (await reg.getSingleMetricAsString(name)).replaceAll(name, "M");
}

describe("metric series handles", () => {
  it("expose exactly what inc(labels)/observe(labels) would, bucket edges and +Inf included", async () => {
    const { reg, viaApi, viaSeries } = pair();
    const codeLabels = { ...LABELS, code: "200" };
    const c = counterSeries(viaSeries.c, codeLabels);
    const h = histogramSeries(viaSeries.h, LABELS);
    const values = [0.0003, 0.0005, 0.00050001, 0.001, 0.9, 1, 5, 10, 10.5, 42, 0];
    for (const v of values) {
      viaApi.c.inc(codeLabels);
      c.inc();
      viaApi.h.observe(LABELS, v);
      h.observe(v);
    }
    viaApi.c.inc(codeLabels, 3);
    c.inc(3);
    expect(await text(reg, "series_total")).toBe(await text(reg, "api_total"));
    expect(await text(reg, "series_seconds")).toBe(await text(reg, "api_seconds"));
    expect(await text(reg, "series_total")).toContain('M{direction="inbound",source="a",destination="b",route="r#0",code="200"} 14');
  });

  it("record straight into the series after the first call (no per-call label hashing)", async () => {
    const { reg, viaSeries } = pair();
    const c = counterSeries(viaSeries.c, { ...LABELS, code: "503" });
    const h = histogramSeries(viaSeries.h, LABELS);
    c.inc();
    h.observe(0.002);
    // If prom-client's store layout changed, the handles fall back to these and the test fails.
    viaSeries.c.inc = () => {
      throw new Error("public inc used");
    };
    viaSeries.h.observe = () => {
      throw new Error("public observe used");
    };
    c.inc();
    h.observe(0.002);
    expect(await reg.getSingleMetricAsString("series_total")).toContain('code="503"} 2');
    expect(await reg.getSingleMetricAsString("series_seconds")).toContain("series_seconds_count{" + "direction=\"inbound\",source=\"a\",destination=\"b\",route=\"r#0\"} 2");
  });

  it("recreate a series after reset() or remove(), and keep prom-client's errors", async () => {
    const { reg, viaSeries } = pair();
    const codeLabels = { ...LABELS, code: "200" };
    const c = counterSeries(viaSeries.c, codeLabels);
    const h = histogramSeries(viaSeries.h, LABELS);
    c.inc(5);
    h.observe(1);
    viaSeries.c.reset();
    viaSeries.h.reset();
    c.inc();
    h.observe(1);
    h.observe(1);
    expect(await reg.getSingleMetricAsString("series_total")).toContain('code="200"} 1');
    expect(await reg.getSingleMetricAsString("series_seconds")).toContain('series_seconds_count{direction="inbound",source="a",destination="b",route="r#0"} 2');
    viaSeries.c.remove(codeLabels);
    c.inc(2);
    expect(await reg.getSingleMetricAsString("series_total")).toContain('code="200"} 2');
    expect(() => c.inc(-1)).toThrow(/decrease/);
    expect(() => h.observe(Number.NaN)).toThrow(/not a valid number/);
  });

  it("share a series with the public API and with other handles on the same labels", async () => {
    const { reg, viaSeries } = pair();
    const codeLabels = { ...LABELS, code: "200" };
    viaSeries.c.inc(codeLabels, 10);
    const a = counterSeries(viaSeries.c, { ...codeLabels });
    const b = counterSeries(viaSeries.c, { ...codeLabels });
    a.inc();
    b.inc();
    a.inc();
    viaSeries.c.inc(codeLabels);
    expect(await reg.getSingleMetricAsString("series_total")).toContain('code="200"} 14');
  });
});
