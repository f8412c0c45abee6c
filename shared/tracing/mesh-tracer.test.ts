import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { meshTracerOf } from "./mesh-tracer.js";
import { createTracing, type Tracing } from "./provider.js";

let t: Tracing | undefined;
afterEach(async () => {
  await t?.shutdown();
});

describe("MeshTracer", () => {
  it("is the tracer createTracing hands out and behaves as the SDK tracer (startSpan, startActiveSpan)", async () => {
    const exporter = new InMemorySpanExporter();
    t = createTracing({ serviceName: "s", sampling: 1, otlpEndpoint: "http://127.0.0.1:9/v1/traces", exporterFactory: () => exporter });
    expect(meshTracerOf(t.tracer)).toBeDefined();
    expect(meshTracerOf(trace.getTracer("other"))).toBeUndefined();
    const result = t.tracer.startActiveSpan("active", (span) => {
      span.end();
      return 42;
    });
    expect(result).toBe(42);
    t.tracer.startSpan("plain", {}, ROOT_CONTEXT).end();
    await t.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["active", "plain"]);
  });

  it("a preset root id is used by the next root span only", async () => {
    const exporter = new InMemorySpanExporter();
    t = createTracing({ serviceName: "s", sampling: 1, otlpEndpoint: "http://127.0.0.1:9/v1/traces", exporterFactory: () => exporter });
    const mesh = meshTracerOf(t.tracer)!;
    mesh.ids.presetTraceId("4bf92f3577b34da6a3ce929d0e0e4736");
    t.tracer.startSpan("a", {}, ROOT_CONTEXT).end();
    t.tracer.startSpan("b", {}, ROOT_CONTEXT).end();
    await t.forceFlush();
    const [a, b] = exporter.getFinishedSpans();
    expect(a!.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(b!.spanContext().traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});
