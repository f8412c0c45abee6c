// The app must not be able to claim a peer identity: x-forwarded-client-cert is only ever set by
// the receiving sidecar, so an app-supplied one is dropped on the way out.
import type { Middleware } from "../core/handler.js";

export const XFCC = "x-forwarded-client-cert";

export function stripClientCertLayer(): Middleware {
  return (next) => (req, ctx) => {
    if (req.headers[XFCC] !== undefined) delete req.headers[XFCC];
    return next(req, ctx);
  };
}
