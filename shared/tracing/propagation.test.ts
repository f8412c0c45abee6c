import { ROOT_CONTEXT, TraceFlags, defaultTextMapSetter, isSpanContextValid, trace } from "@opentelemetry/api";
import { TraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3InjectEncoding, B3Propagator } from "@opentelemetry/propagator-b3";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { extractSpanContext, injectContext, remoteParent } from "./propagation.js";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SID = "00f067aa0ba902b7";
const TID2 = "80f198ee56343ba864fe8b2a57d3eff7";
const SID2 = "e457b5a2e4d86bd1";
const TID3 = "463ac35c9f6413ad48485a3953bb6124";
const SID3 = "0020000000000001";

describe("extract", () => {
  it("reads W3C traceparent and tracestate", () => {
    const sc = extractSpanContext({ traceparent: `00-${TID}-${SID}-01`, tracestate: "vendor=x,other=y" });
    expect(sc).toMatchObject({ traceId: TID, spanId: SID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(sc?.traceState?.serialize()).toBe("vendor=x,other=y");
  });

  it("reads B3 single, including the unsampled flag", () => {
    expect(extractSpanContext({ b3: `${TID2}-${SID2}-1` })).toMatchObject({ traceId: TID2, spanId: SID2, traceFlags: 1 });
    expect(extractSpanContext({ b3: `${TID2}-${SID2}-0` })).toMatchObject({ traceFlags: 0 });
  });

  it("reads B3 multi, and pads 64-bit trace ids", () => {
    const sc = extractSpanContext({ "x-b3-traceid": "a3ce929d0e0e4736", "x-b3-spanid": SID3, "x-b3-sampled": "1" });
    expect(sc).toMatchObject({ traceId: "0000000000000000a3ce929d0e0e4736", spanId: SID3, traceFlags: 1 });
  });

  it("prefers traceparent over b3 over x-b3-*", () => {
    const all = {
      traceparent: `00-${TID}-${SID}-01`,
      b3: `${TID2}-${SID2}-1`,
      "x-b3-traceid": TID3,
      "x-b3-spanid": SID3,
      "x-b3-sampled": "1",
    };
    expect(extractSpanContext(all)?.traceId).toBe(TID);
    const { traceparent: _t, ...noW3c } = all;
    expect(extractSpanContext(noW3c)?.traceId).toBe(TID2);
    const { b3: _b, ...multiOnly } = noW3c;
    expect(extractSpanContext(multiOnly)?.traceId).toBe(TID3);
  });

  it("falls back to B3 when traceparent is malformed, and ignores garbage", () => {
    expect(extractSpanContext({ traceparent: "garbage", b3: `${TID2}-${SID2}-1` })?.traceId).toBe(TID2);
    expect(extractSpanContext({ traceparent: "garbage" })).toBeUndefined();
    expect(extractSpanContext({ b3: "nope" })).toBeUndefined();
    expect(extractSpanContext({})).toBeUndefined();
  });

  it("takes the first value of a repeated header", () => {
    expect(extractSpanContext({ traceparent: [`00-${TID}-${SID}-01`, `00-${TID2}-${SID2}-01`] })?.traceId).toBe(TID);
  });
});

describe("inject", () => {
  const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TID, spanId: SID, traceFlags: TraceFlags.SAMPLED });

  it("writes W3C, B3 single and B3 multi, replacing stale values, without touching the input", () => {
    const input = { host: "a", traceparent: `00-${TID2}-${SID2}-00`, "x-b3-parentspanid": "1111111111111111" };
    const out = injectContext(ctx, input);
    expect(out).toEqual({
      host: "a",
      traceparent: `00-${TID}-${SID}-01`,
      b3: `${TID}-${SID}-1`,
      "x-b3-traceid": TID,
      "x-b3-spanid": SID,
      "x-b3-sampled": "1",
    });
    expect(input.traceparent).toBe(`00-${TID2}-${SID2}-00`);
  });

  it("round-trips: what is injected extracts to the same context in each format", () => {
    const out = injectContext(ctx, {});
    for (const only of [{ traceparent: out.traceparent }, { b3: out.b3 }, { "x-b3-traceid": out["x-b3-traceid"], "x-b3-spanid": out["x-b3-spanid"], "x-b3-sampled": out["x-b3-sampled"] }]) {
      expect(extractSpanContext(only)).toMatchObject({ traceId: TID, spanId: SID, traceFlags: 1 });
    }
  });

  it("propagates the unsampled decision", () => {
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: TID, spanId: SID, traceFlags: TraceFlags.NONE });
    const out = injectContext(unsampled, {});
    expect(out.traceparent).toBe(`00-${TID}-${SID}-00`);
    expect(out.b3).toBe(`${TID}-${SID}-0`);
    expect(out["x-b3-sampled"]).toBe("0");
  });

  it("injects nothing for a context without a span", () => {
    expect(injectContext(ROOT_CONTEXT, { b3: "stale", a: "1" })).toEqual({ a: "1" });
  });
});

describe("inject matches the official propagators", () => {
  it("for random contexts, sampled or not, with and without tracestate", () => {
    const ids = new RandomIdGenerator();
    const official = [
      new W3CTraceContextPropagator(),
      new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
      new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
    ];
    for (let i = 0; i < 50; i++) {
      const ctx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: ids.generateTraceId(),
        spanId: ids.generateSpanId(),
        traceFlags: i % 2 === 0 ? TraceFlags.SAMPLED : TraceFlags.NONE,
        traceState: i % 3 === 0 ? new TraceState("a=1,b=2") : undefined,
      });
      const want: Record<string, string> = {};
      for (const p of official) p.inject(ctx, want, defaultTextMapSetter);
      expect(injectContext(ctx, {})).toEqual(want);
    }
  });
});


describe("remoteParent (the data path's extraction)", () => {
  it("finds the same valid parent as the OTel propagators for every header form", () => {
    const cases: Record<string, string | string[] | undefined>[] = [
      {},
      { traceparent: `00-${TID}-${SID}-01` },
      { traceparent: `00-${TID}-${SID}-00` },
      { traceparent: `00-${TID}-${SID}-03` },
      { traceparent: `00-${TID}-${SID}-01`, tracestate: "vendor=x,other=y" },
      { traceparent: `00-${TID.toUpperCase()}-${SID}-01`, b3: `${TID2}-${SID2}-1` },
      { traceparent: `00-${"0".repeat(32)}-${SID}-01`, b3: `${TID2}-${SID2}-0` },
      { traceparent: `00-${TID}-${"0".repeat(16)}-01` },
      { traceparent: `01-${TID}-${SID}-01-extra` },
      { traceparent: `00-${TID}-${SID}-01-extra`, "x-b3-traceid": TID3, "x-b3-spanid": SID3, "x-b3-sampled": "1" },
      { traceparent: `ff-${TID}-${SID}-01` },
      { traceparent: ` 00-${TID}-${SID}-01` },
      { traceparent: [`00-${TID}-${SID}-01`, `00-${TID2}-${SID2}-01`] },
      { b3: `${TID2}-${SID2}-d` },
      { b3: `${TID2}-${SID2}` },
      { b3: "0" },
      { "x-b3-traceid": "a3ce929d0e0e4736", "x-b3-spanid": SID3, "x-b3-sampled": "0" },
      { "x-b3-traceid": TID3, "x-b3-spanid": SID3, "x-b3-flags": "1" },
      { "x-b3-traceid": "zz", "x-b3-spanid": SID3 },
    ];
    for (const headers of cases) {
      const otel = extractSpanContext(headers);
      const expected = otel && isSpanContextValid(otel) ? otel : undefined;
      const got = remoteParent(headers);
      expect({ headers, sc: got && { ...got, traceState: got.traceState?.serialize() } }).toEqual({
        headers,
        sc: expected && { ...expected, traceState: expected.traceState?.serialize() },
      });
    }
  });
});
