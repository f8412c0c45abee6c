// Inbound authorization layer: answers 403 with a JSON body itself (no call to the app) when
// authorize() says no. The peer identity is the SPIFFE ID verified by the mTLS handshake.
import { Readable } from "node:stream";
import type { AuthorizationPolicy } from "../../../shared/schema/kinds.js";
import { DEFAULT_NAMESPACE, parseSpiffeId } from "../../../shared/identity.js";
import type { MeshResponse, Middleware } from "../../core/handler.js";
import { authorize } from "./authorize.js";

export function forbidden(reason: string): MeshResponse {
  const body = Buffer.from(JSON.stringify({ code: "TSMESH_ERR_FORBIDDEN", error: `RBAC: access denied: ${reason}` }) + "\n");
  return {
    status: 403,
    headers: { "content-type": "application/json", "content-length": String(body.length), "x-tsmesh-error": "TSMESH_ERR_FORBIDDEN" },
    body: Readable.from([body]),
  };
}

export function authzLayer(getPolicies: () => readonly AuthorizationPolicy[], ownService: string, ownNamespace: string = DEFAULT_NAMESPACE): Middleware {
  return (next) => (req, ctx) => {
    const peerIdentity = ctx.peerIdentity;
    const peer = peerIdentity ? parseSpiffeId(peerIdentity) : undefined;
    const decision = authorize(getPolicies(), {
      service: ownService,
      namespace: ownNamespace,
      peerIdentity,
      peerService: peer?.service,
      peerNamespace: peer?.namespace,
      method: req.method,
      path: req.path,
    });
    if (decision.allowed) return next(req, ctx);
    ctx.annotations.authz = "denied";
    // Nobody will read the request body; let it flow so the connection is not stalled.
    if (req.body.kind === "stream") req.body.stream.resume();
    return Promise.resolve(forbidden(decision.reason));
  };
}
