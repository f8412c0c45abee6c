import { Readable } from "node:stream";
import { InMemorySpanExporter, SamplingDecision, TraceIdRatioBasedSampler, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode } from "@opentelemetry/api";
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


describe("sampling decided before the SDK (unsampled fast path)", () => {
  const forwardOf = async (t: Tracing, headers: MeshRequest["headers"] = {}) => {
    let fwd: MeshRequest["headers"] = {};
    const ctx = context();
    await inboundTracingLayer({ tracer: t.tracer, service: "s" })(async (req) => {
      fwd = req.headers;
      return { status: 200, headers: {}, body: null };
    })(request(headers), ctx);
    return { fwd, ctx };
  };

  it("roots follow the ratio on the trace id, and a sampled root's span carries the forwarded ids", async () => {
    const { tracing: t, exporter } = setup(0.5);
    const forwarded: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { fwd, ctx } = await forwardOf(t);
      forwarded.push(fwd.traceparent as string);
      expect(traceIdOf(ctx)).toBe(extractSpanContext(fwd)?.traceId);
    }
    const exported = await spans(t, exporter);
    const sampledHeaders = forwarded.filter((tp) => tp.endsWith("-01"));
    // Binomial(200, 0.5): outside [60, 140] has probability < 1e-8.
    expect(sampledHeaders.length).toBeGreaterThan(60);
    expect(sampledHeaders.length).toBeLessThan(140);
    // Exactly the requests forwarded as sampled produced spans, with the same trace and span ids.
    expect(exported.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`).sort()).toEqual(sampledHeaders.sort());
    // The OTel ratio sampler agrees with every decision, sampled or not.
    const ratio = new TraceIdRatioBasedSampler(0.5);
    for (const tp of forwarded) {
      const sc = extractSpanContext({ traceparent: tp })!;
      expect(ratio.shouldSample(ROOT_CONTEXT, sc.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED).toBe(sc.traceFlags === 1);
    }
  });

  it("follows a ratio changed at run time", async () => {
    const { tracing: t, exporter } = setup(0);
    expect((await forwardOf(t)).fwd.traceparent).toMatch(/-00$/);
    t.setSampling(1);
    expect((await forwardOf(t)).fwd.traceparent).toMatch(/-01$/);
    expect(await spans(t, exporter)).toHaveLength(1);
  });

  it("an unsampled parent wins over ratio 1: trace id and tracestate continue under a fresh span id", async () => {
    const { tracing: t, exporter } = setup(1);
    const { fwd, ctx } = await forwardOf(t, { traceparent: `00-${TID}-${SID}-00`, tracestate: "vendor=x" });
    expect(await spans(t, exporter)).toHaveLength(0);
    const sc = extractSpanContext(fwd)!;
    expect(sc).toMatchObject({ traceId: TID, traceFlags: 0 });
    expect(sc.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(sc.spanId).not.toBe(SID);
    expect(fwd.tracestate).toBe("vendor=x");
    expect(fwd.b3).toBe(`${TID}-${sc.spanId}-0`);
    expect(fwd["x-b3-sampled"]).toBe("0");
    expect(traceIdOf(ctx)).toBe(TID);
  });

  it("a sampled parent wins over ratio 0 (B3 single and multi too)", async () => {
    const { tracing: t, exporter } = setup(0);
    await forwardOf(t, { traceparent: `00-${TID}-${SID}-01` });
    await forwardOf(t, { b3: `${TID}-${SID}-1` });
    await forwardOf(t, { "x-b3-traceid": TID, "x-b3-spanid": SID, "x-b3-sampled": "1" });
    const exported = await spans(t, exporter);
    expect(exported).toHaveLength(3);
    for (const s of exported) expect(s.parentSpanContext?.spanId).toBe(SID);
  });

  it("a sampled parent's tracestate is kept on the span and forwarded", async () => {
    const { tracing: t, exporter } = setup(0);
    const { fwd } = await forwardOf(t, { traceparent: `00-${TID}-${SID}-01`, tracestate: "vendor=x,other=y" });
    const [span] = await spans(t, exporter);
    expect(span!.spanContext().traceState?.serialize()).toBe("vendor=x,other=y");
    expect(fwd.tracestate).toBe("vendor=x,other=y");
    expect(fwd.traceparent).toBe(`00-${TID}-${span!.spanContext().spanId}-01`);
  });
});
