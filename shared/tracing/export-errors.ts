// Export failures (collector down, wrong endpoint) would otherwise vanish: the SDK reports them
// to an OTel diag logger nobody installed. Wraps an exporter so the first failure, and then at
// most one per interval, is logged with the number of spans dropped meanwhile.
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../log.js";

export function reportingExporter(inner: SpanExporter, log: Logger, endpoint: string, intervalMs = 60_000): SpanExporter {
  let lastLog = -Infinity;
  let dropped = 0;
  return {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      inner.export(spans, (r) => {
        if (r.code !== ExportResultCode.SUCCESS) {
          dropped += spans.length;
          const now = Date.now();
          if (now - lastLog >= intervalMs) {
            log.warn("trace export failed, spans dropped", {
              code: "TSMESH_ERR_TRACE_EXPORT",
              endpoint,
              dropped,
              error: r.error?.message,
            });
            lastLog = now;
            dropped = 0;
          }
        }
        done(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: inner.forceFlush ? () => inner.forceFlush!() : undefined,
  };
}
