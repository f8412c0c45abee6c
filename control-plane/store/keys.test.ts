import { describe, expect, it } from "vitest";
import { endpointKey, parseKey, resourceKey, tokenKey } from "./keys.js";

describe("key layout", () => {
  it("uses the REST plural as the key segment", () => {
    expect(resourceKey("HTTPRoute", "web")).toBe("/tsmesh/v1/routes/web");
    expect(resourceKey("AuthorizationPolicy", "a")).toBe("/tsmesh/v1/authz/a");
    expect(endpointKey("web", "i-1")).toBe("/tsmesh/v1/endpoints/web/i-1");
    expect(tokenKey("ab")).toBe("/tsmesh/v1/tokens/ab");
  });

  it("parses keys back", () => {
    expect(parseKey("/tsmesh/v1/policies/p")).toEqual({ type: "resource", kind: "DestinationPolicy", name: "p" });
    expect(parseKey("/tsmesh/v1/endpoints/web/i-1")).toEqual({ type: "endpoint", service: "web", instanceId: "i-1" });
    expect(parseKey("/tsmesh/v1/sidecars/i-1")).toEqual({ type: "sidecar", instanceId: "i-1" });
    expect(parseKey("/tsmesh/v1/routes/a/b").type).toBe("other");
    expect(parseKey("/tsmesh/v1/tokens/ab").type).toBe("other");
    expect(parseKey("/elsewhere").type).toBe("other");
  });
});
