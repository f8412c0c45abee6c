import { describe, expect, it } from "vitest";
import { MeshError } from "../../core/handler.js";
import { maxConnectionsOf, ResourceLimits, type Release } from "./limits.js";

const overflowOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof MeshError) {
      expect(err).toMatchObject({ status: 503, code: "TSMESH_ERR_OVERFLOW", failure: "overflow" });
      return err.headers["x-tsmesh-overflow"] as string;
    }
    throw err;
  }
  return undefined;
};

describe("ResourceLimits", () => {
  it("admits maxRequests at once and overflows the next with maxRequests when nothing may queue", () => {
    const l = new ResourceLimits("svc", { maxRequests: 2 });
    const a = l.acquire() as Release;
    l.acquire();
    expect(l.state()).toEqual({ active: 2, pending: 0, retries: 0, open: true });
    expect(overflowOf(() => l.acquire())).toBe("maxRequests");
    a();
    a(); // idempotent
    expect(l.state().active).toBe(1);
    expect(typeof l.acquire()).toBe("function");
  });

  it("queues up to maxPendingRequests, hands freed slots over in order, then overflows with maxPendingRequests", async () => {
    const l = new ResourceLimits("svc", { maxRequests: 1, maxPendingRequests: 2 });
    const first = l.acquire() as Release;
    const order: string[] = [];
    const w1 = (l.acquire() as Promise<Release>).then((r) => (order.push("w1"), r));
    const w2 = (l.acquire() as Promise<Release>).then((r) => (order.push("w2"), r));
    expect(l.state()).toMatchObject({ active: 1, pending: 2 });
    expect(overflowOf(() => l.acquire())).toBe("maxPendingRequests");
    first();
    const r1 = await w1;
    expect(order).toEqual(["w1"]);
    r1();
    (await w2)();
    expect(l.state()).toEqual({ active: 0, pending: 0, retries: 0, open: false });
  });

  it("removes an aborted waiter from the queue and rejects it with the abort reason", async () => {
    const l = new ResourceLimits("svc", { maxRequests: 1, maxPendingRequests: 1 });
    const release = l.acquire() as Release;
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal) as Promise<Release>;
    ac.abort(new Error("route timeout"));
    await expect(waiting).rejects.toThrow("route timeout");
    expect(l.state().pending).toBe(0);
    release();
    expect(l.state().active).toBe(0);
  });

  it("limits concurrent retries and lets a raised limit admit queued requests", async () => {
    const l = new ResourceLimits("svc", { maxRequests: 1, maxPendingRequests: 5, maxRetries: 1 });
    const r = l.tryAcquireRetry()!;
    expect(l.tryAcquireRetry()).toBeUndefined();
    expect(l.saturated()).toContain("maxRetries");
    r();
    expect(l.tryAcquireRetry()).toBeDefined();
    l.acquire();
    const queued = l.acquire() as Promise<Release>;
    l.configure({ maxRequests: 2, maxPendingRequests: 5 });
    await queued;
    expect(l.state()).toMatchObject({ active: 2, pending: 0 });
  });

  it("is unlimited without limits and exposes maxConnections for the pool", () => {
    const l = new ResourceLimits("svc", {});
    for (let i = 0; i < 1000; i++) l.acquire();
    expect(l.state().open).toBe(false);
    expect(maxConnectionsOf({ service: "svc", loadBalancer: "round-robin", connectionPool: { maxConnections: 4 } })).toBe(4);
    expect(maxConnectionsOf(undefined)).toBeUndefined();
  });
});
