// Inbound SERVER span: continues the caller's trace (W3C or B3 headers from the peer sidecar)
// and hands the app this span as parent in W3C + B3 headers.
import { SpanKind, type Tracer } from "@opentelemetry/api";
import type { Middleware } from "../../core/handler.js";
import { ATTR_TSMESH_PEER_IDENTITY, ATTR_TSMESH_ROUTE } from "./attributes.js";
import { traced } from "./span.js";

export interface InboundTracingOptions {
  tracer: Tracer;
  /** This sidecar's service: the span is named "<METHOD> <service>". */
  service: string;
}

/** Put first on the inbound stack, after the mTLS identity check has set ctx.peerIdentity. */
export function inboundTracingLayer(opts: InboundTracingOptions): Middleware {
  return (next) =>
    traced(
      opts.tracer,
      {
        kind: SpanKind.SERVER,
        name: (req) => `${req.method} ${opts.service}`,
        before: (ctx) => (ctx.peerIdentity ? { [ATTR_TSMESH_PEER_IDENTITY]: ctx.peerIdentity } : {}),
        after: (span, ctx) => {
          if (ctx.route) span.setAttribute(ATTR_TSMESH_ROUTE, ctx.route);
        },
      },
      next,
    );
}
