import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/harness/otlp-receiver.js";
import { startSidecarTelemetry } from "./index.js";

describe("sidecar telemetry", () => {
  let rx: OtlpReceiver;
  beforeAll(async () => {
    rx = await startOtlpReceiver();
  });
  afterAll(async () => {
    await rx.close();
  });

  it("follows pushed MeshConfig and flushes on close", async () => {
    const t = startSidecarTelemetry({ service: "ratings", namespace: "shop", meshConfig: {} });
    expect(t.sampling()).toBe(0.01);
    expect(t.endpoint()).toBe(process.env.TSMESH_OTLP_ENDPOINT);
    t.applyMeshConfig({ tracing: { sampling: 1, otlpEndpoint: rx.url } });
    expect(t.sampling()).toBe(1);
    // A bad push changes nothing.
    expect(() => t.applyMeshConfig({ tracing: { sampling: 0.5, otlpEndpoint: "ftp://nope" } })).toThrow(
      /TSMESH_ERR_TRACING_ENDPOINT/,
    );
    expect(t.sampling()).toBe(1);
    expect(t.endpoint()).toBe(rx.url);
    t.tracer.startSpan("on-exit").end();
    await t.close();
    expect(rx.spans.map((s) => [s.name, s.service, s.resource["service.namespace"]])).toEqual([["on-exit", "ratings", "shop"]]);
  });

  it("close() is bounded when the collector does not answer", async () => {
    const t = startSidecarTelemetry({ service: "x", meshConfig: { tracing: { sampling: 1, otlpEndpoint: "http://127.0.0.1:9/v1/traces" } } });
    t.tracer.startSpan("lost").end();
    const t0 = Date.now();
    await t.close(300);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
