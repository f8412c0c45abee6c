import { describe, expect, it } from "vitest";
import type { HTTPRoute } from "../../../shared/schema/kinds.js";
import type { RouteRule } from "../../../shared/schema/http-route.js";
import { buildRouteTable, selectRoute, serviceOfHost } from "./table.js";

function route(name: string, hosts: string[], rules: Partial<RouteRule>[]): HTTPRoute {
  return {
    apiVersion: "tsmesh.dev/v1",
    kind: "HTTPRoute",
    metadata: { name },
    spec: { hosts, rules: rules.map((r) => ({ backends: [{ service: "x", weight: 1 }], ...r })) },
  };
}

const q = (path: string, extra: { host?: string; method?: string; headers?: Record<string, string> } = {}) => ({
  host: extra.host ?? "reviews",
  path,
  method: extra.method ?? "GET",
  headers: extra.headers ?? {},
});

describe("selectRoute", () => {
  it("prefers exact over longest prefix over regex regardless of rule order", () => {
    const table = buildRouteTable([
      route("r", ["reviews"], [
        { matches: [{ path: { type: "RegularExpression", value: "/api/.*" } }] },
        { matches: [{ path: { type: "PathPrefix", value: "/api" } }] },
        { matches: [{ path: { type: "PathPrefix", value: "/api/v1" } }] },
        { matches: [{ path: { type: "Exact", value: "/api/v1/x" } }] },
      ]),
    ]);
    expect(selectRoute(table, q("/api/v1/x"))).toMatchObject({ kind: "matched", route: "r#3" });
    expect(selectRoute(table, q("/api/v1/y"))).toMatchObject({ route: "r#2" });
    expect(selectRoute(table, q("/api/v2"))).toMatchObject({ route: "r#1" });
    expect(selectRoute(table, q("/api"))).toMatchObject({ route: "r#1" });
  });

  it("matches prefixes per path element and ignores the query string", () => {
    const table = buildRouteTable([route("r", ["reviews"], [{ matches: [{ path: { type: "PathPrefix", value: "/foo/" } }] }])]);
    expect(selectRoute(table, q("/foo")).kind).toBe("matched");
    expect(selectRoute(table, q("/foo/bar?x=1")).kind).toBe("matched");
    expect(selectRoute(table, q("/foobar")).kind).toBe("no-match");
  });

  it("anchors regexes (full match) for paths and headers", () => {
    const table = buildRouteTable([
      route("r", ["reviews"], [
        { matches: [{ path: { type: "RegularExpression", value: "/v[0-9]+" }, headers: [{ name: "X-User", type: "RegularExpression", value: "a.c" }] }] },
      ]),
    ]);
    expect(selectRoute(table, q("/v12", { headers: { "x-user": "abc" } })).kind).toBe("matched");
    expect(selectRoute(table, q("/v12/x", { headers: { "x-user": "abc" } })).kind).toBe("no-match");
    expect(selectRoute(table, q("/v12", { headers: { "x-user": "abcd" } })).kind).toBe("no-match");
  });

  it("ranks a method match above more header matches, and more headers above fewer", () => {
    const table = buildRouteTable([
      route("r", ["reviews"], [
        { matches: [{}] },
        { matches: [{ headers: [{ name: "x-a", type: "Exact", value: "1" }] }] },
        { matches: [{ headers: [{ name: "x-a", type: "Exact", value: "1" }, { name: "x-b", type: "Exact", value: "2" }] }] },
        { matches: [{ method: "POST" }] },
      ]),
    ]);
    const both = { "x-a": "1", "x-b": "2" };
    expect(selectRoute(table, q("/", { headers: both, method: "post" }))).toMatchObject({ route: "r#3" });
    expect(selectRoute(table, q("/", { headers: both }))).toMatchObject({ route: "r#2" });
    expect(selectRoute(table, q("/", { headers: { "x-a": "1" } }))).toMatchObject({ route: "r#1" });
    expect(selectRoute(table, q("/"))).toMatchObject({ route: "r#0" });
  });

  it("keeps route then rule order between equally specific matches", () => {
    const table = buildRouteTable([
      route("first", ["reviews"], [{ matches: [{ path: { type: "PathPrefix", value: "/" } }] }]),
      route("second", ["reviews"], [{}]),
    ]);
    expect(selectRoute(table, q("/anything"))).toMatchObject({ route: "first#0" });
  });

  it("joins repeated header values before matching", () => {
    const table = buildRouteTable([route("r", ["reviews"], [{ matches: [{ headers: [{ name: "x-a", type: "Exact", value: "1,2" }] }] }])]);
    expect(selectRoute(table, { ...q("/"), headers: { "x-a": ["1", "2"] } }).kind).toBe("matched");
  });

  it("matches short, namespaced and FQDN hosts of the same service", () => {
    const table = buildRouteTable([route("r", ["reviews"], [{}])]);
    for (const host of ["reviews", "Reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local"]) {
      expect(selectRoute(table, q("/", { host }))).toMatchObject({ kind: "matched", logical: "default/reviews" });
    }
  });

  it("passes through hosts no route names, and reports no-match for named hosts", () => {
    const table = buildRouteTable([route("r", ["reviews"], [{ matches: [{ method: "GET" }] }])]);
    expect(selectRoute(table, q("/", { host: "ratings.default.svc.cluster.local" }))).toEqual({ kind: "passthrough", logical: "default/ratings" });
    expect(selectRoute(table, q("/", { method: "DELETE" }))).toEqual({ kind: "no-match", logical: "default/reviews" });
  });

  it("resolves a short host in the caller's namespace and a route's names in the route's namespace", () => {
    const shopRoute = { ...route("shop-reviews", ["reviews"], [{ backends: [{ service: "reviews-v2", weight: 1 }] }]), metadata: { name: "shop-reviews", namespace: "shop" } };
    const table = buildRouteTable([route("r", ["reviews"], [{}]), shopRoute], "shop");
    expect(selectRoute(table, q("/"))).toMatchObject({ kind: "matched", logical: "shop/reviews", route: "shop-reviews#0", rule: { backends: [{ service: "shop/reviews-v2" }] } });
    expect(selectRoute(table, q("/", { host: "reviews.default" }))).toMatchObject({ kind: "matched", logical: "default/reviews", route: "r#0" });
    expect(selectRoute(table, q("/", { host: "reviews.other.svc.cluster.local" }))).toEqual({ kind: "passthrough", logical: "other/reviews" });
  });
});

describe("serviceOfHost", () => {
  it("keeps IP literals and names that are not service names whole", () => {
    expect(serviceOfHost("127.0.0.1")).toBe("127.0.0.1");
    expect(serviceOfHost("[::1]")).toBe("[::1]");
    expect(serviceOfHost("api.example.com")).toBe("api.example.com");
    expect(serviceOfHost("a_b")).toBe("a_b");
  });

  it("names <namespace>/<service>: the caller's namespace for a short name, else the host's", () => {
    expect(serviceOfHost("svc", "shop")).toBe("shop/svc");
    expect(serviceOfHost("svc")).toBe("default/svc");
    expect(serviceOfHost("svc.ns", "shop")).toBe("ns/svc");
    expect(serviceOfHost("svc.ns.svc.cluster.local", "shop")).toBe("ns/svc");
  });
});
