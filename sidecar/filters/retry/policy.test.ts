import { describe, expect, it } from "vitest";
import { MeshError } from "../../core/handler.js";
import { backoffMs, decide, failureOf, grpcStatusOf, isRetriable, toRetryPolicy } from "./policy.js";

const resp = (status: number) => ({ kind: "response" as const, status });
const grpc = (grpcStatus: number) => ({ kind: "response" as const, status: 200, grpcStatus });
const fail = (failure?: "connect-failure" | "reset" | "refused-stream" | "timeout" | "overflow") => ({ kind: "error" as const, failure });

describe("toRetryPolicy", () => {
  it("uses Istio 1.24 defaults when the route is silent: 2 retries on connect-failure, refused-stream, gRPC unavailable and cancelled; 25/250 ms", () => {
    const p = toRetryPolicy(undefined);
    expect(p.maxRetries).toBe(2);
    expect([...p.retryOn].sort()).toEqual(["cancelled", "connect-failure", "refused-stream", "unavailable"]);
    expect([p.baseMs, p.maxMs, p.perTryTimeoutMs]).toEqual([25, 250, undefined]);
  });

  it("unsafe_503_retried_by_default: an app's 503 is not retried without a route policy; a refused stream is", () => {
    const p = toRetryPolicy(undefined);
    expect(decide(p, 0, resp(503))).toEqual({ retry: false, reason: "not-retriable" });
    expect(decide(toRetryPolicy({ attempts: 2 }), 0, resp(503))).toEqual({ retry: false, reason: "not-retriable" });
    expect(decide(p, 0, fail("refused-stream"), () => 0)).toEqual({ retry: true, delayMs: 0 });
    expect(decide(p, 0, fail("connect-failure"), () => 0)).toEqual({ retry: true, delayMs: 0 });
    expect(decide(p, 0, fail("overflow"))).toEqual({ retry: false, reason: "not-retriable" });
    expect(decide(p, 0, fail(undefined))).toEqual({ retry: false, reason: "not-retriable" });
    // An explicit route policy still retries 503.
    expect(isRetriable(toRetryPolicy({ attempts: 1, retryOn: ["5xx"] }), resp(503))).toBe(true);
    expect(isRetriable(toRetryPolicy({ attempts: 1, retryOn: ["retriable-status-codes"], retriableStatusCodes: [503] }), resp(503))).toBe(true);
  });

  it("reads attempts, conditions, codes, backoff and per-try timeout from the spec", () => {
    const p = toRetryPolicy({ attempts: 5, retryOn: ["5xx", "retriable-status-codes"], retriableStatusCodes: [409], perTryTimeout: "300ms", backoff: { base: "10ms", max: "1s" } });
    expect(p).toMatchObject({ maxRetries: 5, baseMs: 10, maxMs: 1000, perTryTimeoutMs: 300 });
    expect(p.retriableStatusCodes.has(409)).toBe(true);
    expect(toRetryPolicy({ attempts: 1, retryOn: ["5xx"] }).retriableStatusCodes.size).toBe(0);
  });
});

describe("isRetriable", () => {
  it("5xx retries any 5xx response and every reset-like failure, never overflow", () => {
    const p = toRetryPolicy({ attempts: 1, retryOn: ["5xx"] });
    expect([500, 501, 503, 599].map((s) => isRetriable(p, resp(s)))).toEqual([true, true, true, true]);
    expect(isRetriable(p, resp(404))).toBe(false);
    for (const f of ["connect-failure", "reset", "refused-stream", "timeout"] as const) expect(isRetriable(p, fail(f))).toBe(true);
    expect(isRetriable(p, fail("overflow"))).toBe(false);
    expect(isRetriable(p, fail(undefined))).toBe(false);
  });

  it("gateway-error retries only 502, 503, 504", () => {
    const p = toRetryPolicy({ attempts: 1, retryOn: ["gateway-error"] });
    expect([500, 502, 503, 504, 505].map((s) => isRetriable(p, resp(s)))).toEqual([false, true, true, true, false]);
    expect(isRetriable(p, fail("timeout"))).toBe(true);
  });

  it("connect-failure and refused-stream are narrow; reset covers timeouts but no status", () => {
    const cf = toRetryPolicy({ attempts: 1, retryOn: ["connect-failure"] });
    expect([isRetriable(cf, fail("connect-failure")), isRetriable(cf, fail("reset")), isRetriable(cf, resp(503))]).toEqual([true, false, false]);
    const rs = toRetryPolicy({ attempts: 1, retryOn: ["refused-stream"] });
    expect([isRetriable(rs, fail("refused-stream")), isRetriable(rs, fail("connect-failure"))]).toEqual([true, false]);
    const reset = toRetryPolicy({ attempts: 1, retryOn: ["reset"] });
    expect([isRetriable(reset, fail("timeout")), isRetriable(reset, resp(503))]).toEqual([true, false]);
  });

  it("retriable-status-codes retries the listed codes, even below 500", () => {
    const p = toRetryPolicy({ attempts: 1, retryOn: ["retriable-status-codes"], retriableStatusCodes: [409, 503] });
    expect([409, 503, 500].map((s) => isRetriable(p, resp(s)))).toEqual([true, true, false]);
    expect(isRetriable(p, fail("timeout"))).toBe(false);
    const with504 = toRetryPolicy({ attempts: 1, retryOn: ["retriable-status-codes"], retriableStatusCodes: [504] });
    expect(isRetriable(with504, fail("timeout"))).toBe(true);
  });
});

describe("gRPC conditions (grpc_failures_not_retryable)", () => {
  it("each condition retries its grpc-status of a trailers-only response, and nothing else", () => {
    const codes = { cancelled: 1, "deadline-exceeded": 4, "resource-exhausted": 8, internal: 13, unavailable: 14 } as const;
    for (const [name, code] of Object.entries(codes)) {
      const p = toRetryPolicy({ attempts: 1, retryOn: [name as keyof typeof codes] });
      expect([0, 1, 2, 4, 5, 8, 13, 14].filter((g) => isRetriable(p, grpc(g)))).toEqual([code]);
      expect(isRetriable(p, resp(503))).toBe(false);
    }
    const http = toRetryPolicy({ attempts: 1, retryOn: ["5xx"] });
    expect(isRetriable(http, grpc(14))).toBe(false);
  });

  it("the defaults retry UNAVAILABLE and CANCELLED; a gRPC OK or NOT_FOUND is an answer", () => {
    const p = toRetryPolicy(undefined);
    expect(decide(p, 0, grpc(14), () => 0)).toEqual({ retry: true, delayMs: 0 });
    expect(decide(p, 0, grpc(1), () => 0)).toEqual({ retry: true, delayMs: 0 });
    expect(decide(p, 0, grpc(0))).toEqual({ retry: false, reason: "success" });
    expect(decide(p, 0, grpc(5))).toEqual({ retry: false, reason: "not-retriable" });
    expect(decide(p, 2, grpc(14))).toEqual({ retry: false, reason: "attempts-exhausted" });
  });

  it("reads grpc-status from headers, ignoring malformed values", () => {
    expect(grpcStatusOf({ "grpc-status": "14" })).toBe(14);
    expect(grpcStatusOf({ "grpc-status": ["1", "2"] })).toBe(1);
    expect([grpcStatusOf({}), grpcStatusOf({ "grpc-status": "x" }), grpcStatusOf({ "grpc-status": "" }), grpcStatusOf({ "grpc-status": "1e3" })]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe("decide", () => {
  const p = toRetryPolicy({ attempts: 2, retryOn: ["5xx"], backoff: { base: "25ms", max: "250ms" } });

  it("stops on success, on non-retriable outcomes and when attempts are used up", () => {
    expect(decide(p, 0, resp(200))).toEqual({ retry: false, reason: "success" });
    expect(decide(p, 0, fail("overflow"))).toEqual({ retry: false, reason: "not-retriable" });
    expect(decide(p, 2, resp(503))).toEqual({ retry: false, reason: "attempts-exhausted" });
  });

  it("retries with a jittered delay below the exponential ceiling", () => {
    expect(decide(p, 0, resp(503), () => 0.5)).toEqual({ retry: true, delayMs: 12 });
    expect(decide(p, 1, resp(503), () => 0.999)).toEqual({ retry: true, delayMs: 74 });
  });
});

describe("backoffMs", () => {
  it("is full jitter under min(cap, base * (2^n - 1))", () => {
    const p = toRetryPolicy({ attempts: 10, retryOn: ["5xx"], backoff: { base: "25ms", max: "250ms" } });
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n, () => 0.99999))).toEqual([24, 74, 174, 249, 249]);
    expect(backoffMs(p, 3, () => 0)).toBe(0);
  });
});

describe("failureOf", () => {
  it("reads MeshError failures and classifies Node socket errors, including wrapped causes", () => {
    expect(failureOf(new MeshError(503, "X", "x", {}, "refused-stream"))).toBe("refused-stream");
    expect(failureOf(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe("connect-failure");
    expect(failureOf(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe("reset");
    expect(failureOf(new Error("fetch failed", { cause: Object.assign(new Error("y"), { code: "UND_ERR_SOCKET" }) }))).toBe("reset");
    expect(failureOf(new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"))).toBe("refused-stream");
    expect(failureOf(new Error("other"))).toBeUndefined();
  });
});
