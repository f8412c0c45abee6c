// The retry fields of HTTPRoute and DestinationPolicy as the API, CLI and sidecar validate them.
import { describe, expect, it } from "vitest";
import { validateResource } from "./validate.js";

const route = (retryOn: string[]) => ({
  apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: "r" },
  spec: { hosts: ["svc"], rules: [{ backends: [{ service: "svc" }], retry: { attempts: 2, retryOn } }] },
});

describe("HTTPRoute retry.retryOn", () => {
  it("grpc_failures_not_retryable: accepts the gRPC conditions next to the HTTP ones", () => {
    const grpc = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];
    expect(validateResource(route([...grpc, "5xx", "connect-failure"]), "HTTPRoute").ok).toBe(true);
  });

  it("refuses an unknown condition, naming the field", () => {
    const res = validateResource(route(["unavailable", "sometimes"]), "HTTPRoute");
    expect(res).toMatchObject({ ok: false, code: "TSMESH_ERR_INVALID_RESOURCE", field: "spec.rules[0].retry.retryOn[1]" });
  });
});

describe("DestinationPolicy retryBudget", () => {
  it("defaults to 20% of requests plus 10 retries per second (Linkerd's budget)", () => {
    const res = validateResource({ apiVersion: "tsmesh.dev/v1", kind: "DestinationPolicy", metadata: { name: "p" }, spec: { service: "svc", retryBudget: {} } }, "DestinationPolicy");
    expect(res.ok && res.resource.spec.retryBudget).toEqual({ percent: 20, minRetriesPerSecond: 10 });
  });
});
