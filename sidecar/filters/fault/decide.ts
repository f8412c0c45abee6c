// Fault injection decision (Istio HTTPFaultInjection): for each request, whether to delay it and
// whether to abort it, each with its own percentage. Pure: `random` is injectable.
import type { FaultSpec } from "../../../shared/schema/http-route.js";
import { durationMs } from "../timeout/deadline.js";

export interface FaultDecision {
  delayMs?: number;
  abortStatus?: number;
}

/** `random()` in [0, 1): percent 100 always applies, 0 never. */
export function decideFault(fault: FaultSpec | undefined, random: () => number = Math.random): FaultDecision {
  const out: FaultDecision = {};
  if (!fault) return out;
  if (fault.delay && random() * 100 < fault.delay.percent) out.delayMs = durationMs(fault.delay.duration);
  if (fault.abort && random() * 100 < fault.abort.percent) out.abortStatus = fault.abort.status;
  return out;
}
