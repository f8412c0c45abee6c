import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { MeshError, type Handler, type MeshRequest, type RequestContext } from "../../core/handler.js";
import { createAccessLog } from "./layer.js";
import { redactPath } from "./redact-path.js";

const req = (over: Partial<MeshRequest> = {}): MeshRequest => ({
  method: "POST",
  authority: "reviews:9080",
  path: "/r/1?x=1&token=abc",
  headers: { authorization: "Bearer s3cr3t", "content-length": "5" },
  body: { kind: "buffered", data: Buffer.from("hello") },
  protocol: "http/1.1",
  signal: new AbortController().signal,
  ...over,
});
const ctx = (): RequestContext => ({
  requestId: "req-1",
  startedAt: process.hrtime.bigint(),
  attempt: 0,
  failedEndpoints: new Set(),
  annotations: {},
});

function sink() {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) };
}

const chunked: Handler = async (_r, c) => {
  c.route = "r#0";
  c.logical = "reviews";
  c.annotations.retries = 1;
  c.annotations.faultDelay = true;
  c.endpoint = { address: "127.0.0.1:15006", host: "127.0.0.1", port: 15006, labels: {}, identity: "spiffe://cluster.local/ns/default/sa/reviews" };
  return { status: 200, headers: {}, body: Readable.from([Buffer.from("abc"), Buffer.from("defg")]) };
};

describe("access log", () => {
  it("writes one JSON line per request when the body ends, with no headers", async () => {
    const s = sink();
    const log = createAccessLog({ service: "productpage", write: s.write, meshConfig: { accessLog: { enabled: true } } });
    const res = await log.layer("outbound")(chunked)(req(), ctx());
    expect(s.lines).toHaveLength(0);
    let body = "";
    for await (const c of res.body!) body += String(c);
    expect(body).toBe("abcdefg");
    expect(s.lines).toHaveLength(1);
    const line = s.lines[0]!;
    expect(line).toMatchObject({
      level: "info",
      msg: "request",
      component: "access",
      service: "productpage",
      direction: "outbound",
      requestId: "req-1",
      method: "POST",
      authority: "reviews:9080",
      path: "/r/1?x=1&token=[redacted]",
      route: "r#0",
      upstream: "127.0.0.1:15006",
      status: 200,
      retries: 1,
      bytesReceived: 5,
      bytesSent: 7,
      peerIdentity: "spiffe://cluster.local/ns/default/sa/reviews",
      flags: { faultDelay: true },
    });
    expect(typeof line.durationMs).toBe("number");
    expect(typeof line.time).toBe("string");
    expect(JSON.stringify(line)).not.toContain("s3cr3t");
  });

  it("logs failures at warn with their code; logLevel warn keeps only those; disabled logs nothing", async () => {
    const s = sink();
    const log = createAccessLog({ service: "s", write: s.write, meshConfig: { logLevel: "warn", accessLog: { enabled: true } } });
    const ok: Handler = async () => ({ status: 200, headers: { "content-length": "0" }, body: null });
    const boom: Handler = async () => {
      throw new MeshError(503, "TSMESH_ERR_NO_ENDPOINTS", "none");
    };
    await log.layer("inbound")(ok)(req(), ctx());
    await expect(log.layer("inbound")(boom)(req(), ctx())).rejects.toThrow("none");
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({ level: "warn", status: 503, error: "TSMESH_ERR_NO_ENDPOINTS", bytesSent: 0 });

    log.configure({ accessLog: { enabled: false }, logLevel: "info" });
    await log.layer("inbound")(ok)(req(), ctx());
    expect(s.lines).toHaveLength(1);
    log.configure({ accessLog: { enabled: true } });
    await log.layer("inbound")(ok)(req(), ctx());
    expect(s.lines).toHaveLength(2);
    expect(s.lines[1]).toMatchObject({ level: "info", status: 200, bytesSent: 0 });
  });

  it("is off unless MeshConfig turns it on (Istio/Linkerd default)", async () => {
    const s = sink();
    const log = createAccessLog({ service: "s", write: s.write });
    expect(log.enabled()).toBe(false);
    const res = await log.layer("outbound")(chunked)(req(), ctx());
    for await (const _ of res.body!) void _;
    expect(s.lines).toHaveLength(0);
  });

  it("reports a body cut short", async () => {
    const s = sink();
    const log = createAccessLog({ service: "s", write: s.write, meshConfig: { accessLog: { enabled: true } } });
    const res = await log.layer("outbound")(chunked)(req(), ctx());
    res.body!.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(s.lines[0]).toMatchObject({ level: "warn", error: "TSMESH_ERR_BODY_INCOMPLETE" });
  });

  it("redacts credential-like query parameters only", () => {
    expect(redactPath("/a")).toBe("/a");
    expect(redactPath("/a?page=2&api_key=k&access_token=t")).toBe("/a?page=2&api_key=[redacted]&access_token=[redacted]");
  });
});
