import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { Endpoint, RequestContext } from "../../core/handler.js";
import { balancerLayer } from "./layer.js";
import { LoadTracker } from "./load.js";
import { PickerCache } from "./pickers.js";
import { BalancerRegistry, createDefaultBalancerRegistry } from "./registry.js";
import { subsetEndpoints } from "./subset.js";

const ep = (port: number, labels: Record<string, string> = {}): Endpoint => ({
  address: `127.0.0.1:${port}`, host: "127.0.0.1", port, labels, identity: "spiffe://cluster.local/ns/default/sa/reviews",
});
const eps = [ep(1, { version: "v1" }), ep(2, { version: "v2" }), ep(3, { version: "v2" })];
const none = new Set<string>();

describe("round-robin", () => {
  const registry = createDefaultBalancerRegistry();

  it("cycles through every endpoint in order", () => {
    const p = registry.create("round-robin", eps, { load: new LoadTracker(), random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => p.pick(none)?.port)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it("skips ejected endpoints and failed endpoints, but uses a failed one when it is the only healthy one", () => {
    const ejected = new Set(["127.0.0.1:2"]);
    const p = registry.create("round-robin", eps, { load: new LoadTracker(), random: () => 0, isEjected: (a) => ejected.has(a) });
    expect([1, 2, 3, 4].map(() => p.pick(none)?.port)).toEqual([1, 3, 1, 3]);
    expect(p.pick(new Set(["127.0.0.1:1"]))?.port).toBe(3);
    ejected.add("127.0.0.1:3");
    expect(p.pick(new Set(["127.0.0.1:1"]))?.port).toBe(1);
  });

  it("falls back to all endpoints when every one is ejected (panic) and to undefined when empty", () => {
    const p = registry.create("round-robin", eps, { load: new LoadTracker(), random: () => 0, isEjected: () => true });
    expect(p.pick(new Set(["127.0.0.1:1"]))?.port).toBe(2);
    expect(registry.create("round-robin", [], { load: new LoadTracker() }).pick(none)).toBeUndefined();
  });
});

describe("least-request (power of two choices)", () => {
  const registry = createDefaultBalancerRegistry();

  it("takes the less loaded of the two sampled endpoints", () => {
    const load = new LoadTracker();
    load.start("127.0.0.1:1");
    load.start("127.0.0.1:1");
    // random 0 -> first sample index 0; second sample is the next index (1).
    const p = registry.create("least-request", eps, { load, random: () => 0 });
    expect(p.pick(none)?.port).toBe(2);
    load.end("127.0.0.1:1");
    load.end("127.0.0.1:1");
    expect(load.activeRequests("127.0.0.1:1")).toBe(0);
    expect(p.pick(none)?.port).toBe(1);
  });

  it("never picks the most loaded endpoint and spreads over the rest", () => {
    const load = new LoadTracker();
    for (let i = 0; i < 10; i++) load.start("127.0.0.1:3");
    const p = registry.create("least-request", eps, { load });
    const seen = new Map<number, number>();
    // Two distinct samples among three: the busiest wins only if both samples are it, which cannot happen.
    for (let i = 0; i < 3000; i++) {
      const port = p.pick(none)!.port;
      seen.set(port, (seen.get(port) ?? 0) + 1);
    }
    expect(seen.get(3)).toBeUndefined();
    expect(seen.get(1)).toBeGreaterThan(1000);
    expect(seen.get(2)).toBeGreaterThan(1000);
  });

  it("avoids failed and ejected endpoints", () => {
    const p = registry.create("least-request", eps, { load: new LoadTracker(), isEjected: (a) => a.endsWith(":2") });
    for (let i = 0; i < 50; i++) expect(p.pick(new Set(["127.0.0.1:1"]))?.port).toBe(3);
  });
});

describe("registry", () => {
  it("is an explicit instance: unknown names fail clearly, custom factories register", () => {
    const r = new BalancerRegistry();
    expect(() => r.create("round-robin", eps, { load: new LoadTracker() })).toThrow(/unknown load balancer "round-robin"/);
    r.register("first", (list) => ({ endpoints: list, pick: () => list[0] }));
    expect(r.create("first", eps, { load: new LoadTracker() }).pick(none)?.port).toBe(1);
    expect(createDefaultBalancerRegistry().has("least-request")).toBe(true);
  });
});

describe("subsets", () => {
  const policy: DestinationPolicySpec = { service: "reviews", loadBalancer: "round-robin", subsets: [{ name: "v2", labels: { version: "v2" } }] };
  it("selects endpoints by all subset labels; unknown subsets have none", () => {
    expect(subsetEndpoints(eps, policy, "v2").map((e) => e.port)).toEqual([2, 3]);
    expect(subsetEndpoints(eps, policy, undefined)).toBe(eps);
    expect(subsetEndpoints(eps, policy, "v9")).toEqual([]);
    expect(subsetEndpoints(eps, undefined, "v2")).toEqual([]);
  });
});

describe("PickerCache", () => {
  it("keeps a picker while endpoints and policy are unchanged, even as fresh arrays, and rebuilds on change", () => {
    let list = [...eps];
    const cache = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: () => list, load: new LoadTracker() });
    const a = cache.get("reviews", undefined, undefined);
    list = [...eps];
    expect(cache.get("reviews", undefined, undefined)).toBe(a);
    expect(cache.get("reviews", undefined, { service: "reviews", loadBalancer: "round-robin" })).toBe(a);
    const b = cache.get("reviews", undefined, { service: "reviews", loadBalancer: "least-request" });
    expect(b).not.toBe(a);
    list = eps.slice(0, 2);
    expect(cache.get("reviews", undefined, { service: "reviews", loadBalancer: "least-request" }).endpoints).toHaveLength(2);
  });

  it("asks outlier state of the endpoint's service", () => {
    const asked: string[] = [];
    const cache = new PickerCache({
      registry: createDefaultBalancerRegistry(), endpointsOf: () => eps, load: new LoadTracker(),
      isEjected: (svc, a) => (asked.push(`${svc} ${a}`), false),
    });
    cache.get("reviews", undefined, undefined).pick(none);
    expect(asked[0]).toMatch(/^reviews 127\.0\.0\.1:/);
  });
});

describe("balancerLayer", () => {
  const ctx = (over: Partial<RequestContext> = {}): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {}, ...over });
  const req = { method: "GET", authority: "reviews", path: "/", headers: {}, body: { kind: "empty" as const }, protocol: "http/1.1" as const, signal: new AbortController().signal };

  it("sets ctx.endpoint, avoids failed endpoints and counts the attempt active until the body ends", async () => {
    const load = new LoadTracker();
    const cache = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: () => eps, load, random: () => 0 });
    const body = new Readable({ read() {} });
    const handler = balancerLayer(cache, load)(async () => ({ status: 200, headers: {}, body }));
    const c = ctx({ concrete: "reviews", failedEndpoints: new Set(["127.0.0.1:1"]) });
    const res = await handler(req, c);
    expect(c.endpoint?.port).toBe(2);
    expect(load.activeRequests("127.0.0.1:2")).toBe(1);
    res.body!.resume();
    body.push(null);
    await new Promise((r) => body.once("close", r));
    expect(load.activeRequests("127.0.0.1:2")).toBe(0);
  });

  it("releases the count when the attempt throws, and answers 503 without endpoints", async () => {
    const load = new LoadTracker();
    const cache = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: (s) => (s === "default/reviews" ? eps : []), load });
    const failing = balancerLayer(cache, load)(async () => Promise.reject(new Error("boom")));
    const c = ctx({ concrete: "default/reviews" });
    await expect(failing(req, c)).rejects.toThrow("boom");
    expect(load.activeRequests(c.endpoint!.address)).toBe(0);
    await expect(failing(req, ctx({ concrete: "default/ratings" }))).rejects.toMatchObject({ status: 503, code: "TSMESH_ERR_NO_ENDPOINTS" });
    await expect(failing(req, ctx({ concrete: "default/reviews/v9" }))).rejects.toMatchObject({ status: 503, message: 'subset "v9" of "default/reviews" is not defined by a DestinationPolicy' });
  });
});
