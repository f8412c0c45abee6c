import { describe, expect, it } from "vitest";
import type { Snapshot } from "../../shared/snapshot.js";
import { buildOutboundState } from "./state.js";

const snapshot = (endpoints: Snapshot["endpoints"]): Snapshot => ({
  version: "1",
  meshConfig: { trustDomain: "example.org", mtls: "STRICT", logLevel: "info" },
  routes: [],
  policies: [],
  authz: [],
  endpoints,
  trustBundle: [],
});

describe("buildOutboundState", () => {
  it("another namespace can impersonate a service: the expected peer identity comes from the service key, never from the endpoint record", () => {
    const state = buildOutboundState(
      snapshot({
        "shop/orders": [
          { service: "orders", instanceId: "a", address: "127.0.0.1", port: 1001, labels: {}, namespace: "evil" },
          { service: "orders", instanceId: "b", address: "127.0.0.1", port: 1002, labels: {} },
        ],
      }),
    );
    const ids = state.endpoints.get("shop/orders")?.map((e) => e.identity);
    expect(ids).toEqual(["spiffe://example.org/ns/shop/sa/orders", "spiffe://example.org/ns/shop/sa/orders"]);
  });

  it("reads a short endpoint key (static --config file) as a service of the sidecar's own namespace", () => {
    const state = buildOutboundState(snapshot({ orders: [{ service: "orders", instanceId: "a", address: "127.0.0.1", port: 1001, labels: {}, namespace: "evil" }] }), "shop");
    expect([...state.endpoints.keys()]).toEqual(["shop/orders"]);
    expect(state.endpoints.get("shop/orders")![0]!.identity).toBe("spiffe://example.org/ns/shop/sa/orders");
  });

  it("keys destination policies by service key, short names in the policy's namespace", () => {
    const policy = (name: string, service: string, namespace?: string) => ({
      apiVersion: "tsmesh.dev/v1" as const, kind: "DestinationPolicy" as const,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec: { service, loadBalancer: "round-robin" as const, subsets: [{ name: "v2", labels: { version: "v2" } }] },
    });
    const state = buildOutboundState({ ...snapshot({}), policies: [policy("p1", "orders"), policy("p2", "orders", "shop"), policy("p3", "other/cart", "shop")] });
    expect([...state.policies.keys()]).toEqual(["default/orders", "shop/orders", "other/cart"]);
    expect(state.policies.get("shop/orders")!.service).toBe("shop/orders");
    expect(state.concretes.has("other/cart/v2")).toBe(true);
  });
});
