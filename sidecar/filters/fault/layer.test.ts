import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { FaultSpec } from "../../../shared/schema/http-route.js";
import type { MeshRequest, RequestContext } from "../../core/handler.js";
import { faultLayer } from "./layer.js";

const req = (signal = new AbortController().signal): MeshRequest => ({ method: "GET", authority: "a", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal });
const ctx = (fault?: FaultSpec): RequestContext => ({
  requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {},
  rule: { backends: [{ service: "a", weight: 1 }], ...(fault ? { fault } : {}) },
});

function upstream() {
  let calls = 0;
  return { handler: async () => (calls++, { status: 200, headers: {}, body: null }), calls: () => calls };
}

describe("faultLayer", () => {
  it("aborts locally with the configured status and a clear body, without calling upstream", async () => {
    const up = upstream();
    const c = ctx({ abort: { percent: 100, status: 418 } });
    const res = await faultLayer()(up.handler)(req(), c);
    expect(res.status).toBe(418);
    expect(res.headers["x-tsmesh-fault"]).toBe("abort");
    expect(await text(res.body!)).toBe("fault filter abort");
    expect(up.calls()).toBe(0);
    expect(c.annotations.faultAbort).toBe(418);
  });

  it("delays the request by the configured duration, then forwards it", async () => {
    const up = upstream();
    const c = ctx({ delay: { percent: 100, duration: "60ms" } });
    const started = Date.now();
    const res = await faultLayer()(up.handler)(req(), c);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(res.status).toBe(200);
    expect(c.annotations.faultDelayMs).toBe(60);
  });

  it("uses the injected random source and skips unselected requests", async () => {
    const up = upstream();
    const layer = faultLayer(() => 0.7)(up.handler);
    expect((await layer(req(), ctx({ abort: { percent: 50, status: 503 } }))).status).toBe(200);
    expect(up.calls()).toBe(1);
  });

  it("stops a delay when the client goes away", async () => {
    const client = new AbortController();
    const p = faultLayer()(upstream().handler)(req(client.signal), ctx({ delay: { percent: 100, duration: "10s" } }));
    setTimeout(() => client.abort(new Error("gone")), 10);
    await expect(p).rejects.toThrow("gone");
  });
});
