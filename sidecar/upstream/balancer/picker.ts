// Pickers (grpc-js picker.ts style): an immutable snapshot over one endpoint list, rebuilt when
// the list or the policy changes. A pick avoids ejected endpoints and, when another is
// available, the endpoints that already failed for this request.
import type { Endpoint } from "../../core/handler.js";
import type { LoadTracker } from "./load.js";

export interface Picker {
  readonly endpoints: readonly Endpoint[];
  /** `exclude`: addresses to avoid when possible (ctx.failedEndpoints). Undefined: no endpoints. */
  pick(exclude: ReadonlySet<string>): Endpoint | undefined;
}

export interface PickerDeps {
  /** Outlier detection state of the endpoint's service. */
  isEjected?: (address: string) => boolean;
  /** Active request counts (least-request). */
  load: LoadTracker;
  random?: () => number;
}

export type PickerFactory = (endpoints: readonly Endpoint[], deps: PickerDeps) => Picker;

type Accept = (e: Endpoint) => boolean;

/**
 * Acceptance tests from strictest to loosest: healthy and not failed; healthy; not failed; any.
 * Using ejected endpoints once all are ejected is Envoy's panic mode: better a poor endpoint than
 * none.
 */
export function preferenceOrder(exclude: ReadonlySet<string>, isEjected: (address: string) => boolean): Accept[] {
  const healthy: Accept = (e) => !isEjected(e.address);
  if (exclude.size === 0) return [healthy, () => true];
  const fresh: Accept = (e) => !exclude.has(e.address);
  return [(e) => healthy(e) && fresh(e), healthy, fresh, () => true];
}

export const neverEjected = (): boolean => false;
