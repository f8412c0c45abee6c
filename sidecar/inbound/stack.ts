// The inbound stack: observability -> authorization (peer identity from mTLS) -> identity header
// -> local app.
import { compose, type Handler, type Middleware } from "../core/handler.js";
import { clientCertHeaderLayer } from "./xfcc.js";

export interface InboundStackDeps {
  app: Handler;
  ownIdentity: () => string | undefined;
  /** AuthorizationPolicy enforcement (sidecar/filters/authz) when available. */
  authz?: Middleware;
  observe?: Middleware[];
}

export function buildInboundStack(d: InboundStackDeps): Handler {
  const layers: Middleware[] = [...(d.observe ?? []), ...(d.authz ? [d.authz] : []), clientCertHeaderLayer(d.ownIdentity)];
  return compose(...layers)(d.app);
}
