import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { MeshRequest, MeshResponse, RequestContext } from "../../core/handler.js";
import { CircuitBreakers } from "./breakers.js";
import { circuitBreakerLayer } from "./layer.js";

const req: MeshRequest = { method: "GET", authority: "svc", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal };
const policy: DestinationPolicySpec = { service: "svc", loadBalancer: "round-robin", connectionPool: { maxRequests: 2 } };
const ctx = (destination: DestinationPolicySpec | null = policy): RequestContext => ({
  requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {}, concrete: "svc", destination: destination ?? undefined,
});

describe("circuitBreakerLayer", () => {
  it("holds a slot until the response body ends and answers overflow with 503 + x-tsmesh-overflow at once", async () => {
    const breakers = new CircuitBreakers();
    const bodies: Readable[] = [];
    const handler = circuitBreakerLayer(breakers)(async () => {
      const body = new Readable({ read() {} });
      bodies.push(body);
      return { status: 200, headers: {}, body } satisfies MeshResponse;
    });
    await handler(req, ctx());
    await handler(req, ctx());
    expect(breakers.openStates()).toEqual([{ destination: "svc", open: true }]);
    const c = ctx();
    const started = Date.now();
    const err = await handler(req, c).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(50);
    expect(err).toMatchObject({ status: 503, headers: { "x-tsmesh-overflow": "maxRequests" } });
    expect(c.annotations.overflow).toBe("maxRequests");
    bodies[0]!.resume();
    bodies[0]!.push(null);
    await new Promise((r) => bodies[0]!.once("close", r));
    expect(breakers.openStates()).toEqual([{ destination: "svc", open: false }]);
    expect((await handler(req, ctx())).status).toBe(200);
  });

  it("releases the slot when the upstream throws, and passes through without a connection pool policy", async () => {
    const breakers = new CircuitBreakers();
    const failing = circuitBreakerLayer(breakers)(() => Promise.reject(new Error("boom")));
    for (let i = 0; i < 5; i++) await expect(failing(req, ctx())).rejects.toThrow("boom");
    expect(breakers.openStates()).toEqual([{ destination: "svc", open: false }]);
    const ok = circuitBreakerLayer(breakers)(async () => ({ status: 200, headers: {}, body: null }));
    for (let i = 0; i < 5; i++) await ok(req, ctx(null));
    expect(breakers.openStates()).toEqual([]);
  });

  it("gives the retry layer a maxRetries gate", () => {
    const breakers = new CircuitBreakers();
    const c = ctx({ ...policy, connectionPool: { maxRetries: 1 } });
    const release = breakers.acquireRetry(c);
    expect(release).toBeDefined();
    expect(breakers.acquireRetry(c)).toBeUndefined();
    release!();
    expect(breakers.acquireRetry(c)).toBeDefined();
    expect(breakers.acquireRetry(ctx(null))).toBeDefined();
  });
});
