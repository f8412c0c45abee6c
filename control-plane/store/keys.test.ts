import { describe, expect, it } from "vitest";
import { TRUST_BUNDLE_KEY, certRecordKey, endpointKey, parseKey, resourceKey, sidecarKey, tokenKey } from "./keys.js";

describe("key layout", () => {
  it("uses the REST plural as the key segment", () => {
    expect(resourceKey("HTTPRoute", "web")).toBe("/tsmesh/v1/routes/web");
    expect(resourceKey("AuthorizationPolicy", "a")).toBe("/tsmesh/v1/authz/a");
    expect(endpointKey("web", "i-1")).toBe("/tsmesh/v1/endpoints/default/web/i-1");
    expect(endpointKey("web", "i-1", "shop")).toBe("/tsmesh/v1/endpoints/shop/web/i-1");
    expect(tokenKey("ab")).toBe("/tsmesh/v1/tokens/ab");
    expect(certRecordKey("0a1b")).toBe("/tsmesh/v1/certs/0a1b");
    expect(sidecarKey("i-1")).toBe("/tsmesh/v1/sidecars/i-1");
    expect(TRUST_BUNDLE_KEY).toBe("/tsmesh/v1/trust-bundle");
  });

  it("parses keys back", () => {
    expect(parseKey("/tsmesh/v1/policies/p")).toEqual({ type: "resource", kind: "DestinationPolicy", name: "p" });
    expect(parseKey("/tsmesh/v1/endpoints/shop/web/i-1")).toEqual({ type: "endpoint", namespace: "shop", service: "web", instanceId: "i-1" });
    // The layout before namespaces: read until its leases run out.
    expect(parseKey("/tsmesh/v1/endpoints/web/i-1")).toEqual({ type: "endpoint", service: "web", instanceId: "i-1" });
    expect(parseKey("/tsmesh/v1/sidecars/i-1")).toEqual({ type: "sidecar", instanceId: "i-1" });
    expect(parseKey("/tsmesh/v1/routes/a/b").type).toBe("other");
    expect(parseKey("/tsmesh/v1/tokens/ab").type).toBe("other");
    expect(parseKey("/elsewhere").type).toBe("other");
  });
});
