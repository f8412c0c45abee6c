import { describe, expect, it } from "vitest";
import type { HTTPRoute } from "../../../shared/schema/kinds.js";
import { MeshError, type MeshRequest, type RequestContext } from "../../core/handler.js";
import { hostOfAuthority, routeLayer } from "./layer.js";
import { buildRouteTable } from "./table.js";

const routes: HTTPRoute[] = [
  {
    apiVersion: "tsmesh.dev/v1",
    kind: "HTTPRoute",
    metadata: { name: "reviews" },
    spec: {
      hosts: ["reviews"],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/v2" } }], backends: [{ service: "reviews", subset: "v2", weight: 1 }], timeout: "1s" },
        { matches: [{ path: { type: "PathPrefix", value: "/v1" } }], backends: [{ service: "reviews", weight: 1 }] },
      ],
    },
  },
];

const req = (authority: string, path: string): MeshRequest => ({
  method: "GET", authority, path, headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal,
});
const ctx = (): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {} });
const ok = async () => ({ status: 200, headers: {}, body: null });

describe("routeLayer", () => {
  const handler = routeLayer(() => buildRouteTable(routes))(ok);

  it("sets logical, rule and route name for a matched rule", async () => {
    const c = ctx();
    await handler(req("reviews.default.svc.cluster.local:9080", "/v2/books"), c);
    expect(c.logical).toBe("default/reviews");
    expect(c.route).toBe("reviews#0");
    expect(c.rule?.timeout).toBe("1s");
    expect(c.rule?.backends).toEqual([{ service: "default/reviews", subset: "v2", weight: 1 }]);
  });

  it("passes an unrouted host to the service of that name with Istio default retries", async () => {
    const c = ctx();
    await handler(req("ratings:80", "/"), c);
    expect(c.logical).toBe("default/ratings");
    expect(c.route).toBe("default");
    expect(c.rule?.backends).toEqual([{ service: "default/ratings", weight: 1 }]);
    expect(c.rule?.retry).toMatchObject({ attempts: 2, retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled"] });
    expect(c.rule?.retry?.retriableStatusCodes).toBeUndefined();
  });

  it("answers 404 TSMESH_ERR_NO_ROUTE when the host has routes but none match", async () => {
    const err = await handler(req("reviews", "/v3"), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect(err).toMatchObject({ status: 404, code: "TSMESH_ERR_NO_ROUTE" });
  });

  it("answers 400 TSMESH_ERR_NO_HOST for a request without a host", async () => {
    await expect(handler(req("", "/"), ctx())).rejects.toMatchObject({ status: 400, code: "TSMESH_ERR_NO_HOST" });
  });

  it("strips ports from authorities", () => {
    expect(hostOfAuthority("a:1")).toBe("a");
    expect(hostOfAuthority("a")).toBe("a");
    expect(hostOfAuthority("[::1]:80")).toBe("[::1]");
  });
});
