import { describe, expect, it } from "vitest";
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { MeshRequest, RequestContext } from "../../core/handler.js";
import { splitLayer } from "./layer.js";

const req = { method: "GET", authority: "r", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal } as MeshRequest;
const ctx = (over: Partial<RequestContext> = {}): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {}, ...over });
const ok = async () => ({ status: 200, headers: {}, body: null });
const policy: DestinationPolicySpec = { service: "reviews", loadBalancer: "least-request" };

describe("splitLayer", () => {
  it("sets the concrete backend and the destination policy of its service", async () => {
    const c = ctx({ rule: { backends: [{ service: "reviews", subset: "v2", weight: 1 }] } });
    await splitLayer((s) => (s === "reviews" ? policy : undefined))(ok)(req, c);
    expect(c.concrete).toBe("reviews/v2");
    expect(c.destination).toBe(policy);
  });

  it("falls back to the logical service without a rule, leaving destination unset without a policy", async () => {
    const c = ctx({ logical: "ratings" });
    await splitLayer(() => undefined)(ok)(req, c);
    expect(c.concrete).toBe("ratings");
    expect(c.destination).toBeUndefined();
  });

  it("rejects with 500 TSMESH_ERR_NO_BACKEND when all weights are zero", async () => {
    const c = ctx({ rule: { backends: [{ service: "a", weight: 0 }] } });
    await expect(splitLayer(() => undefined)(ok)(req, c)).rejects.toMatchObject({ status: 500, code: "TSMESH_ERR_NO_BACKEND" });
  });
});
