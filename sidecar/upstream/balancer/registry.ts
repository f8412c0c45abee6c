// Load balancer registry (grpc-js load-balancer.ts style): an explicit instance, not module
// globals, so what is registered never depends on import order.
import type { Endpoint } from "../../core/handler.js";
import { leastRequestPicker } from "./least-request.js";
import type { Picker, PickerDeps, PickerFactory } from "./picker.js";
import { roundRobinPicker } from "./round-robin.js";

export class BalancerRegistry {
  private readonly factories = new Map<string, PickerFactory>();

  register(name: string, factory: PickerFactory): this {
    this.factories.set(name, factory);
    return this;
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  create(name: string, endpoints: readonly Endpoint[], deps: PickerDeps): Picker {
    const factory = this.factories.get(name);
    if (!factory) throw new Error(`unknown load balancer "${name}" (known: ${[...this.factories.keys()].join(", ")})`);
    return factory(endpoints, deps);
  }
}

/** The balancers DestinationPolicy.loadBalancer names. */
export function createDefaultBalancerRegistry(): BalancerRegistry {
  return new BalancerRegistry().register("round-robin", roundRobinPicker).register("least-request", leastRequestPicker);
}
