// Tells the app who called: `x-forwarded-client-cert: By=<own id>;URI=<peer id>` (Envoy's format),
// replacing whatever the peer sent. Plaintext requests (PERMISSIVE) carry none.
import type { Middleware } from "../core/handler.js";
import { XFCC } from "../outbound/xfcc-strip.js";

export function clientCertHeaderLayer(ownIdentity: () => string | undefined): Middleware {
  return (next) => (req, ctx) => {
    const own = ownIdentity();
    if (ctx.peerIdentity && own) req.headers[XFCC] = `By=${own};URI=${ctx.peerIdentity}`;
    else delete req.headers[XFCC];
    return next(req, ctx);
  };
}
