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
  it("expects each endpoint's peer identity in the endpoint's own namespace", () => {
    const state = buildOutboundState(
      snapshot({
        orders: [
          { service: "orders", instanceId: "a", address: "127.0.0.1", port: 1001, labels: {}, namespace: "shop" },
          { service: "orders", instanceId: "b", address: "127.0.0.1", port: 1002, labels: {} },
        ],
      }),
    );
    const ids = state.endpoints.get("orders")?.map((e) => e.identity);
    expect(ids).toEqual(["spiffe://example.org/ns/shop/sa/orders", "spiffe://example.org/ns/default/sa/orders"]);
  });
});
