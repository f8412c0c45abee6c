import { describe, expect, it } from "vitest";
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import { compose, MeshError, type Endpoint, type Handler, type MeshRequest, type RequestContext } from "../../core/handler.js";
import { withTimeout } from "../../filters/timeout/deadline.js";
import { balancerLayer } from "../balancer/layer.js";
import { LoadTracker } from "../balancer/load.js";
import { PickerCache } from "../balancer/pickers.js";
import { createDefaultBalancerRegistry } from "../balancer/registry.js";
import type { EjectionEvent } from "./detector.js";
import { OutlierDetectors } from "./detectors.js";
import { outlierLayer } from "./layer.js";

const eps: Endpoint[] = [1, 2, 3].map((port) => ({ address: `127.0.0.1:${port}`, host: "127.0.0.1", port, labels: {}, identity: "" }));
const policy: DestinationPolicySpec = {
  service: "svc", loadBalancer: "round-robin",
  outlierDetection: { consecutive5xx: 2, interval: "1s", baseEjectionTime: "200ms", maxEjectionPercent: 34 },
};
const req = (signal = new AbortController().signal): MeshRequest => ({ method: "GET", authority: "svc", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal });
const ctx = (): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {}, concrete: "svc", destination: policy });

function setup(upstream: Handler) {
  const events: EjectionEvent[] = [];
  const detectors = new OutlierDetectors((e) => events.push(e));
  detectors.for("svc", policy.outlierDetection)!.setEndpoints(eps.map((e) => e.address));
  const load = new LoadTracker();
  const pickers = new PickerCache({ registry: createDefaultBalancerRegistry(), endpointsOf: () => eps, load, isEjected: detectors.isEjected, random: () => 0 });
  const handler = compose(balancerLayer(pickers, load), outlierLayer(detectors))(upstream);
  return { handler, events, detectors };
}

describe("outlierLayer with the balancer", () => {
  it("ejects an endpoint answering 5xx, sends traffic elsewhere, and takes it back after the ejection time", async () => {
    const seen: number[] = [];
    const { handler, events } = setup(async (_r, c) => {
      seen.push(c.endpoint!.port);
      return { status: c.endpoint!.port === 1 ? 503 : 200, headers: {}, body: null };
    });
    for (let i = 0; i < 12; i++) await handler(req(), ctx());
    expect(events.map((e) => e.address)).toEqual(["127.0.0.1:1"]);
    expect(seen.slice(6)).not.toContain(1);
    await new Promise((r) => setTimeout(r, 220));
    seen.length = 0;
    for (let i = 0; i < 3; i++) await handler(req(), ctx());
    expect(seen).toContain(1);
  });

  it("counts a per-try timeout on a hanging endpoint as a failure", async () => {
    // Like the real upstream client: a hanging request ends when its signal aborts, with the reason.
    const hang = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const { handler, detectors } = setup((r, c) => (c.endpoint!.port === 2 ? hang(r.signal) : Promise.resolve({ status: 200, headers: {}, body: null })));
    for (let i = 0; i < 6; i++) {
      await withTimeout(20, "per-try", req(), (r) => handler(r, ctx())).catch(() => undefined);
    }
    expect(detectors.isEjected("svc", "127.0.0.1:2")).toBe(true);
  });

  it("counts connect failures but not overflow", async () => {
    let error: Error = new MeshError(503, "X", "refused", {}, "connect-failure");
    const { handler, detectors } = setup(() => Promise.reject(error));
    await handler(req(), ctx()).catch(() => undefined); // :1
    await handler(req(), ctx()).catch(() => undefined); // :2
    await handler(req(), ctx()).catch(() => undefined); // :3
    await handler(req(), ctx()).catch(() => undefined); // :1 again -> ejected
    expect(detectors.isEjected("svc", "127.0.0.1:1")).toBe(true);
    error = new MeshError(503, "X", "full", {}, "overflow");
    for (let i = 0; i < 6; i++) await handler(req(), ctx()).catch(() => undefined);
    expect(detectors.isEjected("svc", "127.0.0.1:2")).toBe(false);
  });

  it("does not count a client abort, whatever failure kind its reason carries", async () => {
    // The listener aborts with a "reset"-kind reason when the client leaves; upstream rethrows it.
    const gone = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "downstream closed", {}, "reset");
    const { handler, events } = setup(() => Promise.reject(gone));
    const client = new AbortController();
    client.abort(gone);
    for (let i = 0; i < 6; i++) await handler(req(client.signal), ctx()).catch(() => undefined);
    expect(events).toEqual([]);
  });

  it("does nothing for services without outlier detection", async () => {
    const detectors = new OutlierDetectors();
    const c = { ...ctx(), destination: { service: "svc", loadBalancer: "round-robin" as const }, endpoint: eps[0] };
    const res = await outlierLayer(detectors)(async () => ({ status: 503, headers: {}, body: null }))(req(), c);
    expect(res.status).toBe(503);
    expect(detectors.isEjected("svc", eps[0]!.address)).toBe(false);
  });
});
