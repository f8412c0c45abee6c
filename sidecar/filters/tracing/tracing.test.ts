import { Readable } from "node:stream";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { createTracing, type Tracing } from "../../../shared/tracing/provider.js";
import { extractSpanContext } from "../../../shared/tracing/propagation.js";
import { compose, MeshError, type Handler, type MeshRequest, type Middleware, type RequestContext } from "../../core/handler.js";
import { traceIdOf } from "./context.js";
import { inboundTracingLayer } from "./inbound.js";
import { outboundRequestTracingLayer, outboundTracingLayer } from "./outbound.js";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SID = "00f067aa0ba902b7";

function request(headers: MeshRequest["headers"] = {}): MeshRequest {
  return {
    method: "GET",
    authority: "reviews:9080",
    path: "/r/1?token=x",
    headers,
    body: { kind: "empty" },
    protocol: "http/1.1",
    signal: new AbortController().signal,
  };
}

function context(): RequestContext {
  return { requestId: "r1", startedAt: process.hrtime.bigint(), attempt: 0, failedEndpoints: new Set(), annotations: {} };
}

let tracing: Tracing | undefined;
function setup(sampling: number): { tracing: Tracing; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  tracing = createTracing({
    serviceName: "reviews",
    sampling,
    otlpEndpoint: "http://127.0.0.1:9/v1/traces",
    exporterFactory: () => exporter,
  });
  return { tracing, exporter };
}
afterEach(async () => {
  await tracing?.shutdown();
});

async function spans(t: Tracing, e: InMemorySpanExporter): Promise<ReadableSpan[]> {
  await t.forceFlush();
  return e.getFinishedSpans();
}

describe("inbound SERVER span", () => {
  it("continues a B3 multi parent and hands the app W3C + B3 headers of the new span", async () => {
    const { tracing: t, exporter } = setup(0);
    let seen: MeshRequest | undefined;
    const app: Handler = async (req) => {
      seen = req;
      return { status: 200, headers: {}, body: Readable.from(["ok"]) };
    };
    const ctx = context();
    ctx.peerIdentity = "spiffe://cluster.local/ns/default/sa/productpage";
    const h = inboundTracingLayer({ tracer: t.tracer, service: "reviews" })(app);
    const res = await h(request({ "x-b3-traceid": TID, "x-b3-spanid": SID, "x-b3-sampled": "1" }), ctx);
    // The span ends with the body, not at headers.
    expect(await spans(t, exporter)).toHaveLength(0);
    for await (const _ of res.body!) void _;
    const [span] = await spans(t, exporter);
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.SERVER);
    expect(span!.name).toBe("GET reviews");
    expect(span!.spanContext().traceId).toBe(TID);
    expect(span!.parentSpanContext?.spanId).toBe(SID);
    expect(span!.attributes).toMatchObject({
      "http.request.method": "GET",
      "url.path": "/r/1",
      "server.address": "reviews",
      "server.port": 9080,
      "network.protocol.version": "1.1",
      "http.response.status_code": 200,
      "tsmesh.peer.identity": "spiffe://cluster.local/ns/default/sa/productpage",
    });
    const fwd = seen!.headers;
    expect(fwd.traceparent).toBe(`00-${TID}-${span!.spanContext().spanId}-01`);
    expect(fwd.b3).toBe(`${TID}-${span!.spanContext().spanId}-1`);
    expect(fwd["x-b3-spanid"]).toBe(span!.spanContext().spanId);
    expect(fwd["x-b3-parentspanid"]).toBeUndefined();
    expect(traceIdOf(ctx)).toBe(TID);
  });

  it("marks 5xx and thrown errors, rethrowing the error", async () => {
    const { tracing: t, exporter } = setup(1);
    const fail503: Handler = async () => ({ status: 503, headers: {}, body: null });
    await inboundTracingLayer({ tracer: t.tracer, service: "s" })(fail503)(request(), context());
    const boom: Handler = async () => {
      throw new MeshError(504, "TSMESH_ERR_TIMEOUT", "upstream timeout");
    };
    await expect(inboundTracingLayer({ tracer: t.tracer, service: "s" })(boom)(request(), context())).rejects.toThrow(
      "upstream timeout",
    );
    const [a, b] = await spans(t, exporter);
    expect(a!.status.code).toBe(SpanStatusCode.ERROR);
    expect(a!.attributes["error.type"]).toBe("503");
    expect(b!.status.code).toBe(SpanStatusCode.ERROR);
    expect(b!.attributes).toMatchObject({ "error.type": "TSMESH_ERR_TIMEOUT", "http.response.status_code": 504 });
    expect(b!.events.some((e) => e.name === "exception")).toBe(true);
  });

  it("when unsampled, exports nothing but still propagates the decision and a trace id", async () => {
    const { tracing: t, exporter } = setup(0);
    let fwd: MeshRequest["headers"] = {};
    const ctx = context();
    await inboundTracingLayer({ tracer: t.tracer, service: "s" })(async (req) => {
      fwd = req.headers;
      return { status: 200, headers: {}, body: null };
    })(request(), ctx);
    expect(await spans(t, exporter)).toHaveLength(0);
    const sc = extractSpanContext(fwd);
    expect(sc?.traceFlags).toBe(0);
    expect(traceIdOf(ctx)).toBe(sc?.traceId);
  });
});

describe("outbound spans", () => {
  it("one INTERNAL span per request and one CLIENT span per attempt, siblings under it", async () => {
    const { tracing: t, exporter } = setup(1);
    // Stand-in for the retry layer: first try 503, then 200.
    const retry: Middleware = (next) => async (req, ctx) => {
      ctx.attempt = 0;
      const first = await next(req, ctx);
      first.body?.destroy();
      ctx.attempt = 1;
      ctx.annotations.retries = 1;
      return next(req, ctx);
    };
    const upstreamHeaders: MeshRequest["headers"][] = [];
    const upstream: Handler = async (req, ctx) => {
      upstreamHeaders.push(req.headers);
      ctx.endpoint = { address: "127.0.0.1:15006", host: "127.0.0.1", port: 15006, labels: {}, identity: "spiffe://cluster.local/ns/default/sa/reviews" };
      return { status: ctx.attempt === 0 ? 503 : 200, headers: {}, body: null };
    };
    const route: Middleware = (next) => (req, ctx) => {
      ctx.logical = "reviews";
      ctx.route = "reviews-route#0";
      return next(req, ctx);
    };
    const stack = compose(
      outboundRequestTracingLayer({ tracer: t.tracer }),
      route,
      retry,
      outboundTracingLayer({ tracer: t.tracer }),
    )(upstream);
    const res = await stack(request({ traceparent: `00-${TID}-${SID}-01` }), context());
    expect(res.status).toBe(200);
    const all = await spans(t, exporter);
    const top = all.find((s) => s.kind === SpanKind.INTERNAL)!;
    const tries = all.filter((s) => s.kind === SpanKind.CLIENT);
    expect(top.parentSpanContext?.spanId).toBe(SID);
    expect(top.attributes).toMatchObject({ "tsmesh.route": "reviews-route#0", "tsmesh.retries": 1, "http.response.status_code": 200 });
    expect(tries.map((s) => s.attributes["tsmesh.retry.attempt"])).toEqual([0, 1]);
    for (const s of tries) {
      expect(s.spanContext().traceId).toBe(TID);
      expect(s.parentSpanContext?.spanId).toBe(top.spanContext().spanId);
      expect(s.name).toBe("GET reviews");
      expect(s.attributes).toMatchObject({ "tsmesh.route": "reviews-route#0", "tsmesh.peer.identity": "spiffe://cluster.local/ns/default/sa/reviews", "network.peer.port": 15006 });
    }
    expect(tries[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(tries[1]!.status.code).toBe(SpanStatusCode.UNSET);
    // Each attempt's upstream request carries that attempt's span as parent.
    expect(upstreamHeaders.map((h) => extractSpanContext(h)?.spanId)).toEqual(tries.map((s) => s.spanContext().spanId));
  });
});

describe("gRPC status", () => {
  it("is read from trailers (span ends only once they arrive) and from trailers-only headers", async () => {
    const { tracing: t, exporter } = setup(1);
    let sendTrailers: (h: Record<string, string>) => void = () => {};
    const trailers = new Promise<Record<string, string>>((r) => (sendTrailers = r));
    const grpc: Handler = async () => ({ status: 200, headers: { "content-type": "application/grpc" }, body: Readable.from([Buffer.from("x")]), trailers });
    const res = await inboundTracingLayer({ tracer: t.tracer, service: "s" })(grpc)(request(), context());
    for await (const _ of res.body!) void _;
    expect(await spans(t, exporter)).toHaveLength(0);
    sendTrailers({ "grpc-status": "14" });
    await trailers;
    await new Promise((r) => setImmediate(r));
    const only: Handler = async () => ({ status: 200, headers: { "grpc-status": "0" }, body: null });
    await inboundTracingLayer({ tracer: t.tracer, service: "s" })(only)(request(), context());
    const [a, b] = await spans(t, exporter);
    expect(a!.attributes).toMatchObject({ "rpc.grpc.status_code": 14, "error.type": "grpc:14" });
    expect(a!.status.code).toBe(SpanStatusCode.ERROR);
    expect(b!.attributes["rpc.grpc.status_code"]).toBe(0);
    expect(b!.status.code).toBe(SpanStatusCode.UNSET);
  });
});

