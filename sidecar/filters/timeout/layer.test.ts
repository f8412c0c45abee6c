import { describe, expect, it } from "vitest";
import type { MeshRequest, MeshResponse, RequestContext } from "../../core/handler.js";
import { timeoutLayer } from "./layer.js";

const req: MeshRequest = { method: "GET", authority: "a", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal };
const ctx = (timeout?: string): RequestContext => ({
  requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {},
  rule: { backends: [{ service: "a", weight: 1 }], ...(timeout ? { timeout } : {}) },
});

describe("timeoutLayer", () => {
  it("answers 504 when the rule timeout passes and annotates ctx", async () => {
    const c = ctx("40ms");
    const started = Date.now();
    const err = await timeoutLayer()(() => new Promise<MeshResponse>(() => {}))(req, c).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 504, failure: "timeout", scope: "route" });
    expect(Date.now() - started).toBeLessThan(500);
    expect(c.annotations.timeout).toBe("route");
  });

  it("passes the request through untouched without a timeout", async () => {
    const handler = timeoutLayer()(async (r) => {
      expect(r).toBe(req);
      return { status: 200, headers: {}, body: null };
    });
    expect((await handler(req, ctx())).status).toBe(200);
  });
});
