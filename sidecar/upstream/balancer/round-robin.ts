// Round robin over the endpoint snapshot, starting at a random index (grpc-js) so many sidecars
// restarting together do not all hit the first endpoint.
import type { Endpoint } from "../../core/handler.js";
import { neverEjected, preferenceOrder, type Picker, type PickerDeps } from "./picker.js";

export function roundRobinPicker(endpoints: readonly Endpoint[], deps: PickerDeps): Picker {
  const isEjected = deps.isEjected ?? neverEjected;
  let next = Math.floor((deps.random ?? Math.random)() * endpoints.length);
  return {
    endpoints,
    pick(exclude) {
      const n = endpoints.length;
      for (const accept of preferenceOrder(exclude, isEjected)) {
        for (let i = 0; i < n; i++) {
          const index = (next + i) % n;
          const e = endpoints[index]!;
          if (accept(e)) {
            next = (index + 1) % n;
            return e;
          }
        }
      }
      return undefined;
    },
  };
}
