import { describe, expect, it } from "vitest";
import { validateResource } from "./schema/validate.js";
import { namespaceOf, qualifyService, serviceKey, splitServiceKey } from "./service-key.js";

describe("service keys", () => {
  it("qualifies short names in the given namespace and keeps qualified ones", () => {
    expect(qualifyService("reviews", "shop")).toBe("shop/reviews");
    expect(qualifyService("reviews")).toBe("default/reviews");
    expect(qualifyService("other/reviews", "shop")).toBe("other/reviews");
    expect(splitServiceKey(serviceKey("shop", "reviews"))).toEqual({ namespace: "shop", service: "reviews" });
    expect(splitServiceKey("reviews")).toEqual({ namespace: "default", service: "reviews" });
    expect(namespaceOf({ metadata: {} })).toBe("default");
    expect(namespaceOf({ metadata: { namespace: "shop" } })).toBe("shop");
  });
});

describe("service references in resources", () => {
  const authz = (from: unknown) => ({ apiVersion: "tsmesh.dev/v1", kind: "AuthorizationPolicy", metadata: { name: "p", namespace: "shop" }, spec: { service: "a", rules: [{ from }] } });

  it("accepts name and namespace/name, and from.namespaces", () => {
    expect(validateResource(authz({ services: ["a", "other/a"], namespaces: ["shop"] })).ok).toBe(true);
    const route = { apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: "r" }, spec: { hosts: ["shop/a"], rules: [{ backends: [{ service: "other/b" }] }] } };
    expect(validateResource(route).ok).toBe(true);
  });

  it("refuses malformed references with the field named", () => {
    for (const bad of ["a/b/c", "/a", "a/", "A/b", "a.b"]) {
      expect(validateResource(authz({ services: [bad] })), bad).toMatchObject({ ok: false, field: "spec.rules[0].from.services[0]" });
    }
    expect(validateResource(authz({ namespaces: ["shop/a"] }))).toMatchObject({ ok: false, field: "spec.rules[0].from.namespaces[0]" });
  });
});
