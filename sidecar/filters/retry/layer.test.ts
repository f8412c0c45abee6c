import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { RetrySpec } from "../../../shared/schema/http-route.js";
import { compose, MeshError, type Endpoint, type Handler, type MeshRequest, type MeshResponse, type RequestBody, type RequestContext } from "../../core/handler.js";
import { balancerLayer } from "../../upstream/balancer/layer.js";
import { LoadTracker } from "../../upstream/balancer/load.js";
import { PickerCache } from "../../upstream/balancer/pickers.js";
import { createDefaultBalancerRegistry } from "../../upstream/balancer/registry.js";
import { RetryBudgets } from "./budget.js";
import { retryLayer } from "./layer.js";

const eps: Endpoint[] = [1, 2, 3].map((port) => ({ address: `127.0.0.1:${port}`, host: "127.0.0.1", port, labels: {}, identity: "" }));

const req = (body: RequestBody = { kind: "empty" }, signal = new AbortController().signal): MeshRequest => ({
  method: "POST", authority: "svc", path: "/", headers: {}, body, protocol: "http/1.1", signal,
});
const ctx = (retry?: RetrySpec): RequestContext => ({
  requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {}, concrete: "svc",
  rule: { backends: [{ service: "svc", weight: 1 }], ...(retry ? { retry } : {}) },
});
const response = (status: number, body: Readable | null = null): MeshResponse => ({ status, headers: {}, body });
const fast = { base: "1ms", max: "5ms" };
const refused = new MeshError(502, "TSMESH_ERR_UPSTREAM_CONNECT", "refused", {}, "connect-failure");

/** Balancer + a scripted upstream: the n-th attempt answers script[n] (a status, a response, an error, or "hang"). */
function stack(script: (number | MeshResponse | Error | "hang")[], options: Partial<Parameters<typeof retryLayer>[0]> = {}) {
  const calls: { endpoint: string; body: Buffer | null; signal: AbortSignal }[] = [];
  const load = new LoadTracker();
  const upstream: Handler = async (r, c) => {
    const step = script[Math.min(calls.length, script.length - 1)]!;
    const body = r.body.kind === "buffered" ? r.body.data : r.body.kind === "stream" ? await buffer(r.body.stream) : null;
    calls.push({ endpoint: c.endpoint!.address, body, signal: r.signal });
    if (step === "hang") return new Promise(() => {});
    if (step instanceof Error) throw step;
    if (typeof step === "object") return step;
    return response(step, Readable.from([Buffer.from(`status ${step}`)]));
  };
  const pickers = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: () => eps, load, random: () => 0 });
  const handler = compose(retryLayer({ budgets: new RetryBudgets(), ...options }), balancerLayer(pickers, load))(upstream);
  return { handler, calls };
}

describe("retryLayer", () => {
  it("retries a 503 on other endpoints and returns the first success", async () => {
    const { handler, calls } = stack([503, 503, 200]);
    const c = ctx({ attempts: 2, retryOn: ["5xx"], backoff: fast });
    const res = await handler(req(), c);
    expect(res.status).toBe(200);
    expect(calls.map((x) => x.endpoint)).toEqual(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    expect([c.attempt, c.annotations.retries]).toEqual([2, 2]);
    expect([...c.failedEndpoints]).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
  });

  it("returns the last failed response when attempts are used up, and drains the discarded ones", async () => {
    const bodies: Readable[] = [];
    const upstream: Handler = async () => {
      const b = Readable.from([Buffer.from("unavailable")]);
      bodies.push(b);
      return response(503, b);
    };
    const handler = retryLayer({ budgets: new RetryBudgets() })(upstream);
    const res = await handler(req(), ctx({ attempts: 1, retryOn: ["5xx"], backoff: fast }));
    expect(res.status).toBe(503);
    expect(bodies).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(bodies[0]!.readableEnded).toBe(true);
    expect((await buffer(res.body!)).toString()).toBe("unavailable");
  });

  it("applies Istio defaults when the rule is silent: after trying every endpoint, retries connect failures twice, then throws", async () => {
    const { handler, calls } = stack([refused]);
    const c = ctx();
    await expect(handler(req(), c)).rejects.toBe(refused);
    // 3 endpoints tried once each, then the route's 2 retries.
    expect(calls.map((x) => x.endpoint)).toEqual(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:1", "127.0.0.1:2"]);
    expect(c.annotations.retries).toBe(4);
  });

  it("connect_failure_not_retried_without_policy_or_budget: retries a connect failure on an untried endpoint anyway", async () => {
    const drained = { service: "svc", loadBalancer: "round-robin" as const, retryBudget: { percent: 0, minRetriesPerSecond: 0 } };
    for (const retry of [undefined, { attempts: 0 }]) {
      const { handler, calls } = stack([refused, refused, 200], { acquireRetry: () => undefined });
      const c = ctx(retry);
      c.destination = drained;
      const res = await handler(req({ kind: "buffered", data: Buffer.from("payload") }), c);
      expect(res.status).toBe(200);
      expect(calls.map((x) => [x.endpoint, x.body?.toString()])).toEqual([["127.0.0.1:1", "payload"], ["127.0.0.1:2", "payload"], ["127.0.0.1:3", "payload"]]);
      expect(c.annotations.retries).toBe(2);
    }
  });

  it("retries a connect failure once per endpoint at most, then leaves it to the route", async () => {
    const { handler, calls } = stack([refused]);
    await expect(handler(req(), ctx({ attempts: 0 }))).rejects.toBe(refused);
    expect(calls).toHaveLength(3);
    // A streamed body under a route without retries is not recorded, so it cannot be replayed.
    const b = stack([refused, 200]);
    const c = ctx({ attempts: 0 });
    await expect(b.handler(req({ kind: "stream", stream: Readable.from([Buffer.from("x")]) }), c)).rejects.toBe(refused);
    expect(b.calls).toHaveLength(1);
    // Other failures are not connect failures: a reset is the route's to retry, or not.
    const c2 = stack([new MeshError(502, "TSMESH_ERR_UPSTREAM_RESET", "reset", {}, "reset"), 200]);
    await expect(c2.handler(req(), ctx({ attempts: 0 }))).rejects.toThrow("reset");
    expect(c2.calls).toHaveLength(1);
  });

  it("grpc_failures_not_retryable: retries a trailers-only UNAVAILABLE by default, not one whose status is in trailers", async () => {
    const unavailable = (): MeshResponse => ({ status: 200, headers: { "content-type": "application/grpc", "grpc-status": "14" }, body: null });
    const { handler, calls } = stack([unavailable(), unavailable(), 200]);
    const c = ctx();
    expect((await handler(req(), c)).status).toBe(200);
    expect([calls.length, c.annotations.retries]).toEqual([3, 2]);

    const streamed: MeshResponse = { status: 200, headers: { "content-type": "application/grpc" }, body: Readable.from([Buffer.from("msg")]), trailers: Promise.resolve({ "grpc-status": "14" }) };
    const b = stack([streamed, 200]);
    expect(await b.handler(req(), ctx())).toBe(streamed);
    expect(b.calls).toHaveLength(1);

    const off = stack([unavailable(), 200]);
    expect((await off.handler(req(), ctx({ attempts: 2, retryOn: ["5xx"] }))).headers["grpc-status"]).toBe("14");
    expect(off.calls).toHaveLength(1);
  });

  it("does not retry a 500 by default, nor an overflow ever", async () => {
    const a = stack([500, 200]);
    expect((await a.handler(req(), ctx())).status).toBe(500);
    expect(a.calls).toHaveLength(1);
    const overflow = new MeshError(503, "TSMESH_ERR_OVERFLOW", "full", {}, "overflow");
    const b = stack([overflow, 200]);
    await expect(b.handler(req(), ctx({ attempts: 3, retryOn: ["5xx"] }))).rejects.toBe(overflow);
  });

  it("replays a buffered streamed body byte for byte on every attempt", async () => {
    const { handler, calls } = stack([503, 200]);
    const payload = Buffer.alloc(200_000, 7);
    const res = await handler(req({ kind: "stream", stream: Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]) }), ctx({ attempts: 1, retryOn: ["5xx"], backoff: fast }));
    expect(res.status).toBe(200);
    expect(calls.map((x) => x.body!.equals(payload))).toEqual([true, true]);
  });

  it("streams a body over the buffer cap through once and does not retry it", async () => {
    const { handler, calls } = stack([503, 200], { maxBufferBytes: 1024 });
    const payload = Buffer.alloc(5000, 1);
    const c = ctx({ attempts: 3, retryOn: ["5xx"], backoff: fast });
    const res = await handler(req({ kind: "stream", stream: Readable.from([payload.subarray(0, 2000), payload.subarray(2000)]) }), c);
    expect(res.status).toBe(503);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body!.equals(payload)).toBe(true);
    expect(c.annotations.retrySkipped).toBe("body-too-large");
  });

  it("does not retry when the body is still arriving after the backoff (a streaming call)", async () => {
    const source = new Readable({ read() {} });
    source.push("part");
    const upstream: Handler = async () => response(503);
    const c = ctx({ attempts: 2, retryOn: ["5xx"], backoff: { base: "20ms", max: "20ms" } });
    const res = await retryLayer({ budgets: new RetryBudgets() })(upstream)(req({ kind: "stream", stream: source }), c);
    expect(res.status).toBe(503);
    expect(c.annotations.retrySkipped).toBe("body-incomplete");
  });

  it("gives each attempt the per-try timeout, aborting the hung attempt and retrying elsewhere", async () => {
    const { handler, calls } = stack(["hang", 200]);
    const started = Date.now();
    const res = await handler(req(), ctx({ attempts: 2, retryOn: ["reset"], perTryTimeout: "40ms", backoff: fast }));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.endpoint).not.toBe(calls[0]!.endpoint);
  });

  it("stops retrying when the retry budget or the breaker's retry limit says no", async () => {
    const a = stack([503, 200]);
    const c = ctx({ attempts: 2, retryOn: ["5xx"], backoff: fast });
    c.destination = { service: "svc", loadBalancer: "round-robin", retryBudget: { percent: 0, minRetriesPerSecond: 0 } };
    expect((await a.handler(req(), c)).status).toBe(503);
    expect(c.annotations.retrySkipped).toBe("budget");

    let released = 0;
    const b = stack([503, 503, 200], { acquireRetry: () => (released < 1 ? () => released++ : undefined) });
    const c2 = ctx({ attempts: 2, retryOn: ["5xx"], backoff: fast });
    expect((await b.handler(req(), c2)).status).toBe(503);
    expect([b.calls.length, released, c2.annotations.retrySkipped]).toEqual([2, 1, "max-retries"]);
  });

  it("stops during backoff when the client goes away", async () => {
    const client = new AbortController();
    // Backoff fixed at 500 ms: full jitter could otherwise draw a delay under the 20 ms abort.
    const { handler, calls } = stack([503, 200], { random: () => 0.5 });
    const p = handler(req({ kind: "empty" }, client.signal), ctx({ attempts: 2, retryOn: ["5xx"], backoff: { base: "1s", max: "1s" } }));
    setTimeout(() => client.abort(new Error("client gone")), 20);
    await expect(p).rejects.toThrow("client gone");
    expect(calls).toHaveLength(1);
  });
});
