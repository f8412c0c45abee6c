// The OTLP/HTTP protobuf exporter, imported on the first export: the exporter package with
// protobufjs is ~160 modules (~4 MB of RSS) that a process without a tracing endpoint, or one
// that never samples a span, does not need. Construction stays synchronous (setEndpoint
// validates and swaps at once); the import happens on the BatchSpanProcessor's first flush.
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

export function lazyOtlpExporter(url: string, timeoutMillis = 10_000): SpanExporter {
  let inner: Promise<SpanExporter> | undefined;
  let stopped = false;
  const load = () =>
    (inner ??= import("@opentelemetry/exporter-trace-otlp-proto").then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter({ url, timeoutMillis }),
    ));
  return {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      if (stopped) return done({ code: ExportResultCode.FAILED, error: new Error("exporter shut down") });
      load().then(
        (e) => e.export(spans, done),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
    },
    // Nothing was loaded: nothing buffered to flush or stop.
    async shutdown() {
      stopped = true;
      if (inner) await (await inner).shutdown();
    },
    async forceFlush() {
      if (inner) await (await inner).forceFlush?.();
    },
  };
}
