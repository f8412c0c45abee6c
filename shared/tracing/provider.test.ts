import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/harness/otlp-receiver.js";
import { createTracing } from "./provider.js";

function sampledCount(t: ReturnType<typeof createTracing>, n: number): number {
  let sampled = 0;
  for (let i = 0; i < n; i++) {
    const span = t.tracer.startSpan("x");
    if (span.isRecording()) sampled++;
    span.end();
  }
  return sampled;
}

describe("sampling", () => {
  it("follows the root ratio and changes at runtime", async () => {
    const t = createTracing({ serviceName: "s", sampling: 0 });
    expect(sampledCount(t, 500)).toBe(0);
    t.setSampling(1);
    expect(t.sampling()).toBe(1);
    expect(sampledCount(t, 500)).toBe(500);
    t.setSampling(0.25);
    const n = sampledCount(t, 4000);
    expect(n).toBeGreaterThan(800);
    expect(n).toBeLessThan(1200);
    await t.shutdown();
  });

  it("honours the parent's decision whatever the ratio", async () => {
    const t = createTracing({ serviceName: "s", sampling: 0 });
    const parent = (flags: number) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        traceFlags: flags,
        isRemote: true,
      });
    expect(t.tracer.startSpan("c", { kind: SpanKind.SERVER }, parent(TraceFlags.SAMPLED)).isRecording()).toBe(true);
    t.setSampling(1);
    expect(t.tracer.startSpan("c", { kind: SpanKind.SERVER }, parent(TraceFlags.NONE)).isRecording()).toBe(false);
    await t.shutdown();
  });

  it("rejects a bad ratio and keeps the old one", async () => {
    const t = createTracing({ serviceName: "s", sampling: 0.5 });
    for (const bad of [-0.1, 1.5, Number.NaN]) {
      expect(() => t.setSampling(bad)).toThrow(/TSMESH_ERR_TRACING_SAMPLING/);
    }
    expect(t.sampling()).toBe(0.5);
    expect(() => createTracing({ serviceName: "s", sampling: 2 })).toThrow(/TSMESH_ERR_TRACING_SAMPLING/);
    expect(() => t.setEndpoint("ftp://x")).toThrow(/TSMESH_ERR_TRACING_ENDPOINT/);
    expect(t.endpoint()).toBeUndefined();
    await t.shutdown();
  });
});

describe("OTLP/HTTP protobuf export", () => {
  let a: OtlpReceiver;
  let b: OtlpReceiver;
  beforeAll(async () => {
    [a, b] = await Promise.all([startOtlpReceiver(), startOtlpReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it("exports spans with the service resource, flushes on shutdown, and follows an endpoint change", async () => {
    const t = createTracing({
      serviceName: "reviews",
      serviceNamespace: "shop",
      sampling: 1,
      otlpEndpoint: a.url,
      batch: { scheduledDelayMillis: 60_000 }, // only an explicit flush/shutdown exports
    });
    const s = t.tracer.startSpan("GET", { kind: SpanKind.SERVER, attributes: { "http.request.method": "GET" } });
    s.end();
    await t.forceFlush();
    const [got] = await a.waitFor((sp) => sp.length === 1);
    expect(got).toMatchObject({
      name: "GET",
      kind: "SPAN_KIND_SERVER",
      service: "reviews",
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      parentSpanId: "",
      attributes: { "http.request.method": "GET" },
    });
    expect(got?.resource["service.namespace"]).toBe("shop");

    t.setEndpoint(b.url);
    t.tracer.startSpan("after-switch").end();
    await t.shutdown();
    await b.waitFor((sp) => sp.some((x) => x.name === "after-switch"));
    expect(a.spans.map((x) => x.name)).toEqual(["GET"]);
  });
});

describe("export failures", () => {
  it("are logged (rate-limited) instead of vanishing", async () => {
    const { createLogger } = await import("../log.js");
    const { ExportResultCode } = await import("@opentelemetry/core");
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("tracing", { write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const url = "http://127.0.0.1:9/v1/traces";
    const failing = {
      export: (_s: unknown, done: (r: { code: number; error?: Error }) => void) => done({ code: ExportResultCode.FAILED, error: new Error("connect ECONNREFUSED") }),
      shutdown: async () => {},
    };
    const t = createTracing({ serviceName: "s", sampling: 1, otlpEndpoint: url, log, exporterFactory: () => failing });
    for (const name of ["a", "b"]) {
      t.tracer.startSpan(name).end();
      await t.forceFlush().catch(() => undefined); // the batch processor rejects a failed flush
    }
    await t.shutdown();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", code: "TSMESH_ERR_TRACE_EXPORT", endpoint: url, dropped: 1, error: "connect ECONNREFUSED" });
  });
});
