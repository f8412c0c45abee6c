// The innermost outbound handler: sends the attempt to ctx.endpoint (chosen by the balancer) over
// its pooled mTLS connection, HTTP/2 when the app spoke HTTP/2 (gRPC), HTTP/1.1 otherwise.
import { MeshError, type Handler } from "../core/handler.js";
import { maxConnectionsOf } from "../filters/circuit-breaker/limits.js";
import { sendH1 } from "./send-h1.js";
import { sendH2 } from "./send-h2.js";
import type { EndpointPools } from "./pools.js";

export function upstreamClient(pools: EndpointPools): Handler {
  return (req, ctx) => {
    const ep = ctx.endpoint;
    if (!ep) return Promise.reject(new MeshError(500, "TSMESH_ERR_NO_ENDPOINT", "no endpoint chosen for the attempt"));
    const target = pools.get(ep, maxConnectionsOf(ctx.destination));
    if (req.protocol === "http/1.1") return sendH1(target.h1, req, ep.address);
    return sendH2(target.h2, req, "https", ep.address);
  };
}
