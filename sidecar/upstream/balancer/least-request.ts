// Least request with power of two choices (Envoy's default choice_count 2): sample two distinct
// acceptable endpoints at random and take the one with fewer active requests.
import type { Endpoint } from "../../core/handler.js";
import { neverEjected, preferenceOrder, type Picker, type PickerDeps } from "./picker.js";

export function leastRequestPicker(endpoints: readonly Endpoint[], deps: PickerDeps): Picker {
  const isEjected = deps.isEjected ?? neverEjected;
  const random = deps.random ?? Math.random;
  return {
    endpoints,
    pick(exclude) {
      for (const accept of preferenceOrder(exclude, isEjected)) {
        const candidates = endpoints.filter(accept);
        if (candidates.length === 0) continue;
        if (candidates.length === 1) return candidates[0];
        const i = Math.floor(random() * candidates.length);
        // A second index distinct from the first, uniformly among the others.
        const j = (i + 1 + Math.floor(random() * (candidates.length - 1))) % candidates.length;
        const a = candidates[i]!;
        const b = candidates[j]!;
        return deps.load.activeRequests(b.address) < deps.load.activeRequests(a.address) ? b : a;
      }
      return undefined;
    },
  };
}
