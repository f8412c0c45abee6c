// Outbound spans, two layers:
// - outboundRequestTracingLayer, first on the outbound stack: one INTERNAL span per request
//   (route, final status, retries) so all attempts share a parent even when the app sent no
//   trace headers;
// - outboundTracingLayer, directly under the retry layer: one CLIENT span per attempt (OTel HTTP
//   semconv: each resend is its own client span) with tsmesh.retry.attempt; the peer sidecar's
//   SERVER span becomes its child. The two meet only through the propagation headers.
import { SpanKind, type Tracer } from "@opentelemetry/api";
import { ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT } from "@opentelemetry/semantic-conventions";
import type { Middleware } from "../../core/handler.js";
import {
  ATTR_TSMESH_PEER_IDENTITY,
  ATTR_TSMESH_RETRIES,
  ATTR_TSMESH_RETRY_ATTEMPT,
  ATTR_TSMESH_ROUTE,
  splitAuthority,
} from "./attributes.js";
import { traced } from "./span.js";

export interface OutboundTracingOptions {
  tracer: Tracer;
}

export function outboundTracingLayer(opts: OutboundTracingOptions): Middleware {
  return (next) =>
    traced(
      opts.tracer,
      {
        kind: SpanKind.CLIENT,
        name: (req, ctx) => `${req.method} ${ctx.logical ?? req.authority}`,
        before: (ctx) => ({
          [ATTR_TSMESH_RETRY_ATTEMPT]: ctx.attempt,
          ...(ctx.route ? { [ATTR_TSMESH_ROUTE]: ctx.route } : {}),
        }),
        after: (span, ctx) => {
          const ep = ctx.endpoint;
          if (!ep) return;
          span.setAttributes({
            [ATTR_NETWORK_PEER_ADDRESS]: ep.host,
            [ATTR_NETWORK_PEER_PORT]: ep.port,
            [ATTR_TSMESH_PEER_IDENTITY]: ep.identity,
          });
        },
      },
      next,
    );
}

export function outboundRequestTracingLayer(opts: OutboundTracingOptions): Middleware {
  return (next) =>
    traced(
      opts.tracer,
      {
        kind: SpanKind.INTERNAL,
        name: (req) => `${req.method} ${splitAuthority(req.authority).host}`,
        after: (span, ctx) => {
          if (ctx.route) span.setAttribute(ATTR_TSMESH_ROUTE, ctx.route);
          const retries = ctx.annotations.retries;
          if (typeof retries === "number") span.setAttribute(ATTR_TSMESH_RETRIES, retries);
        },
      },
      next,
    );
}
