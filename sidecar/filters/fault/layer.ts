// Fault layer: applies ctx.rule.fault before the request leaves (a delay, then possibly an abort
// answered locally without an upstream call), and records what it did in ctx.annotations.
import { Readable } from "node:stream";
import type { MeshResponse, Middleware } from "../../core/handler.js";
import { decideFault } from "./decide.js";
import { sleep } from "../timeout/sleep.js";

export function abortResponse(status: number): MeshResponse {
  const body = Buffer.from("fault filter abort");
  return {
    status,
    headers: { "content-type": "text/plain", "content-length": String(body.length), "x-tsmesh-fault": "abort" },
    body: Readable.from([body]),
  };
}

export function faultLayer(random: () => number = Math.random): Middleware {
  return (next) => async (req, ctx) => {
    const fault = ctx.rule?.fault;
    if (!fault) return next(req, ctx);
    const decision = decideFault(fault, random);
    if (decision.delayMs !== undefined) {
      ctx.annotations.faultDelayMs = decision.delayMs;
      await sleep(decision.delayMs, req.signal);
    }
    if (decision.abortStatus !== undefined) {
      ctx.annotations.faultAbort = decision.abortStatus;
      return abortResponse(decision.abortStatus);
    }
    return next(req, ctx);
  };
}
