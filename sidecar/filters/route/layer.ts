// Route layer: picks the logical service and the HTTPRoute rule for a request. A host no route
// names is passed through to the service of that name with a default rule (Istio behaviour).
import type { RouteRule } from "../../../shared/schema/http-route.js";
import { MeshError, type Middleware } from "../../core/handler.js";
import { DEFAULT_RETRY } from "../retry/defaults.js";
import { selectRoute, type RouteTable } from "./table.js";

/** Drops the port: "reviews:9080" -> "reviews", "[::1]:80" -> "[::1]". */
export function hostOfAuthority(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end === -1 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(":");
  return colon === -1 ? authority : authority.slice(0, colon);
}

/** The rule used when no route names the host: all traffic to that service, default retries. */
export function defaultRule(service: string): RouteRule {
  // The shared DEFAULT_RETRY object keeps the retry layer's parsed-policy cache warm.
  return { backends: [{ service, weight: 1 }], retry: DEFAULT_RETRY };
}

export const PASSTHROUGH_ROUTE = "default";

/** Sets ctx.logical, ctx.rule and ctx.route; 404 when routes name the host but no rule matches. */
export function routeLayer(getTable: () => RouteTable): Middleware {
  return (next) => (req, ctx) => {
    const host = hostOfAuthority(req.authority);
    if (host === "") return Promise.reject(new MeshError(400, "TSMESH_ERR_NO_HOST", "the request names no host (Host header, :authority or absolute URI)"));
    const sel = selectRoute(getTable(), { host, path: req.path, method: req.method, headers: req.headers });
    ctx.logical = sel.logical;
    if (sel.kind === "matched") {
      ctx.rule = sel.rule;
      ctx.route = sel.route;
    } else if (sel.kind === "passthrough") {
      ctx.rule = defaultRule(sel.logical);
      ctx.route = PASSTHROUGH_ROUTE;
    } else {
      return Promise.reject(
        new MeshError(404, "TSMESH_ERR_NO_ROUTE", `no route rule of service "${sel.logical}" matches ${req.method} ${req.path}`),
      );
    }
    return next(req, ctx);
  };
}
