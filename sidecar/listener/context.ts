// Fresh per-request context. Request ids are a per-process random prefix plus a counter: unique,
// and cheaper than a UUID per request.
import { randomBytes } from "node:crypto";
import type { RequestContext } from "../core/handler.js";

const PREFIX = randomBytes(6).toString("hex");
let counter = 0;

export function newContext(peerIdentity?: string): RequestContext {
  counter = (counter + 1) >>> 0;
  return {
    requestId: `${PREFIX}-${counter.toString(36)}`,
    startedAt: process.hrtime.bigint(),
    attempt: 0,
    failedEndpoints: new Set(),
    peerIdentity,
    annotations: {},
  };
}
