import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/harness/otlp-receiver.js";
import { lazyOtlpExporter } from "./lazy-otlp-exporter.js";
import { createTracing } from "./provider.js";

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

describe("lazyOtlpExporter", () => {
  it("loads the OTLP exporter on the first export and delivers the spans to a real receiver", async () => {
    const t = createTracing({ serviceName: "lazy", sampling: 1, otlpEndpoint: receiver.url, batch: { scheduledDelayMillis: 10 } });
    t.tracer.startSpan("first").end();
    t.tracer.startSpan("second").end();
    const spans = await receiver.waitFor((s) => s.filter((x) => x.service === "lazy").length >= 2, 10_000);
    expect(spans.filter((x) => x.service === "lazy").map((x) => x.name).sort()).toEqual(["first", "second"]);
    await t.shutdown();
  });

  it("shuts down without ever loading when nothing was exported, and refuses exports afterwards", async () => {
    const e = lazyOtlpExporter(receiver.url);
    await e.forceFlush!();
    await e.shutdown();
    const result = await new Promise<ExportResult>((resolve) => e.export([], resolve));
    expect(result.code).toBe(ExportResultCode.FAILED);
  });
});
