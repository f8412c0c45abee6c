// Span processor whose downstream (batch processor + exporter) can be replaced when the OTLP
// endpoint changes at runtime. Spans already queued in the old one are flushed, not lost.
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";

export class SwitchableProcessor implements SpanProcessor {
  constructor(private current: SpanProcessor | undefined) {}

  swap(next: SpanProcessor | undefined): void {
    const old = this.current;
    this.current = next;
    // Background flush of the old exporter; export errors are reported by the OTel diag logger.
    void old?.shutdown().catch(() => undefined);
  }

  onStart(span: Span, parentContext: Context): void {
    this.current?.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.current?.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await this.current?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.current?.shutdown();
  }
}
