import { Readable } from "node:stream";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/harness/otlp-receiver.js";
import { compose, type Handler, type MeshRequest, type Middleware, type RequestContext } from "../core/handler.js";
import { createLogger } from "../../shared/log.js";
import { createObservability } from "./observability.js";

const req: MeshRequest = {
  method: "GET",
  authority: "reviews:9080",
  path: "/",
  headers: {},
  body: { kind: "empty" },
  protocol: "http/1.1",
  signal: new AbortController().signal,
};
const ctx = (): RequestContext => ({ requestId: "q1", startedAt: process.hrtime.bigint(), attempt: 0, failedEndpoints: new Set(), annotations: {} });

describe("observability bundle", () => {
  let rx: OtlpReceiver;
  beforeAll(async () => {
    rx = await startOtlpReceiver();
  });
  afterAll(async () => {
    await rx.close();
  });

  it("one request: access-log trace id = exported trace, metrics counted, snapshot applied", async () => {
    const lines: Record<string, unknown>[] = [];
    const registry = new Registry();
    const obs = createObservability({
      service: "productpage",
      registry,
      meshConfig: { tracing: { sampling: 0 }, logLevel: "info", accessLog: { enabled: true } },
      writeAccessLog: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
    });
    obs.applySnapshot({ version: "12", meshConfig: { tracing: { sampling: 1, otlpEndpoint: rx.url } } });
    const route: Middleware = (next) => (r, c) => {
      c.logical = "default/reviews";
      c.route = "reviews#0";
      return next(r, c);
    };
    const retryOnce: Middleware = (next) => async (r, c) => {
      c.attempt = 0;
      (await next(r, c)).body?.destroy();
      c.attempt = 1;
      c.annotations.retries = 1;
      return next(r, c);
    };
    const upstream: Handler = async (_r, c) => ({ status: c.attempt === 0 ? 502 : 200, headers: {}, body: Readable.from(["hi"]) });
    const h = compose(...obs.outbound, route, retryOnce, obs.attempt)(upstream);
    const res = await h(req, ctx());
    for await (const _ of res.body!) void _;
    await obs.close();

    expect(lines).toHaveLength(1);
    const spans = await rx.waitFor((s) => s.length === 3);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([lines[0]!.traceId]));
    expect(spans.map((s) => s.kind).sort()).toEqual(["SPAN_KIND_CLIENT", "SPAN_KIND_CLIENT", "SPAN_KIND_INTERNAL"]);
    const text = await registry.metrics();
    expect(text).toContain('tsmesh_requests_total{direction="outbound",source="default/productpage",destination="default/reviews",route="reviews#0",code="200"} 1');
    expect(text).toContain('tsmesh_retries_total{destination="default/reviews",route="reviews#0"} 1');
    expect(text).toContain("tsmesh_config_version 12");
  });

  it("a bad tracing setting in a snapshot is logged, not thrown; the rest still applies", async () => {
    const logs: Record<string, unknown>[] = [];
    const registry = new Registry();
    const obs = createObservability({
      service: "a",
      registry,
      meshConfig: { tracing: { sampling: 0.5 } },
      log: createLogger("telemetry", { write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) }),
    });
    expect(() => obs.applySnapshot({ version: "3", meshConfig: { tracing: { sampling: 1, otlpEndpoint: "ftp://x" }, accessLog: { enabled: false } } })).not.toThrow();
    expect(obs.telemetry.sampling()).toBe(0.5);
    expect(obs.accessLog.enabled()).toBe(false);
    expect(await registry.metrics()).toContain("tsmesh_config_version 3");
    expect(logs[0]).toMatchObject({ level: "warn", code: "TSMESH_ERR_TRACING_CONFIG", version: "3" });
    await obs.close();
  });
});
