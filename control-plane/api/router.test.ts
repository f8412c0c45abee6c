import { describe, expect, it } from "vitest";
import { matchRoute, type RouteDef } from "./router.js";

const h = async () => ({ status: 200 });
const routes: RouteDef[] = [
  { pattern: "/api/v1/services", auth: true, methods: { GET: h } },
  { pattern: "/api/v1/:plural", auth: true, methods: { GET: h } },
  { pattern: "/api/v1/:plural/:name", auth: true, methods: { GET: h } },
];

describe("matchRoute", () => {
  it("prefers earlier, specific patterns and extracts parameters", () => {
    expect(matchRoute(routes, "/api/v1/services")?.route.pattern).toBe("/api/v1/services");
    expect(matchRoute(routes, "/api/v1/routes")?.params).toEqual({ plural: "routes" });
    expect(matchRoute(routes, "/api/v1/routes/web")?.params).toEqual({ plural: "routes", name: "web" });
    expect(matchRoute(routes, "/api/v1/routes/web%2Dx")?.params.name).toBe("web-x");
  });

  it("does not match other lengths or prefixes", () => {
    expect(matchRoute(routes, "/api/v1/routes/web/extra")).toBeUndefined();
    expect(matchRoute(routes, "/api/v2/routes")).toBeUndefined();
    expect(matchRoute(routes, "/")).toBeUndefined();
  });

  it("does not match (nor throw on) a malformed percent-escape", () => {
    expect(matchRoute(routes, "/api/v1/routes/%E0%A4%A")).toBeUndefined();
  });
});
