import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../../test/harness/otlp-receiver.js";
import { createControlPlaneTracing } from "./tracing.js";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SID = "00f067aa0ba902b7";

describe("control-plane tracing", () => {
  let rx: OtlpReceiver;
  beforeAll(async () => {
    rx = await startOtlpReceiver();
  });
  afterAll(async () => {
    await rx.close();
  });

  it("exports API-write and push spans over OTLP", async () => {
    const t = createControlPlaneTracing({ endpoint: rx.url, instanceId: "cp-1" });
    const out = await t.traceApiWrite(
      { method: "PUT", route: "/api/v1/routes/{name}", kind: "HTTPRoute", name: "reviews", headers: { traceparent: `00-${TID}-${SID}-01` } },
      async () => ({ status: 200 }),
    );
    expect(out).toEqual({ status: 200 });
    await expect(
      t.traceApiWrite({ method: "DELETE", route: "/api/v1/routes/{name}" }, async () => {
        throw new Error("etcd down");
      }),
    ).rejects.toThrow("etcd down");
    t.startPush({ sidecar: "reviews-1", version: "7" }).end("ack");
    const nack = t.startPush({ sidecar: "ratings-1", version: "7" });
    nack.end("nack", new Error("bad route"));
    nack.end("ack"); // second end ignored
    await t.shutdown();
    const byName = (n: string) => rx.spans.filter((s) => s.name === n);
    const [put] = byName("PUT /api/v1/routes/{name}");
    expect(put).toMatchObject({
      traceId: TID,
      parentSpanId: SID,
      kind: "SPAN_KIND_SERVER",
      service: "tsmesh-control-plane",
      attributes: { "http.response.status_code": 200, "tsmesh.resource.kind": "HTTPRoute", "tsmesh.resource.name": "reviews" },
    });
    expect(put?.resource["service.instance.id"]).toBe("cp-1");
    expect(byName("DELETE /api/v1/routes/{name}")[0]?.status).toBe("STATUS_CODE_ERROR");
    const pushes = byName("config push");
    expect(pushes.map((p) => [p.kind, p.attributes["tsmesh.sidecar"], p.attributes["tsmesh.push.result"], p.status])).toEqual([
      ["SPAN_KIND_PRODUCER", "reviews-1", "ack", "STATUS_CODE_UNSET"],
      ["SPAN_KIND_PRODUCER", "ratings-1", "nack", "STATUS_CODE_ERROR"],
    ]);
  });

  it("without an endpoint runs the callback and exports nothing", async () => {
    const saved = process.env.TSMESH_OTLP_ENDPOINT;
    delete process.env.TSMESH_OTLP_ENDPOINT;
    try {
      const t = createControlPlaneTracing();
      let ran = false;
      await t.traceApiWrite({ method: "PUT", route: "/x" }, async (span) => {
        ran = true;
        expect(span.isRecording()).toBe(false);
      });
      t.startPush({ sidecar: "a", version: "1" }).end("error");
      expect(ran).toBe(true);
      // A bad setting is logged, not thrown (the push loop calls this).
      expect(() => t.applyMeshConfig({ tracing: { sampling: 1, otlpEndpoint: "ftp://nope" } })).not.toThrow();
      // A MeshConfig push can switch export on later.
      t.applyMeshConfig({ tracing: { sampling: 1, otlpEndpoint: rx.url } });
      const before = rx.spans.length;
      await t.traceApiWrite({ method: "POST", route: "/api/v1/tokens" }, async () => 201);
      await t.shutdown();
      expect(rx.spans.slice(before).map((s) => [s.name, s.attributes["http.response.status_code"]])).toEqual([["POST /api/v1/tokens", 201]]);
    } finally {
      if (saved !== undefined) process.env.TSMESH_OTLP_ENDPOINT = saved;
    }
  });
});
