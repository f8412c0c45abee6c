// One picker per concrete target ("svc" or "svc/subset"), rebuilt only when that target's
// endpoints, load balancer or subsets change, so round-robin position and snapshots persist
// between requests.
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import type { Endpoint } from "../../core/handler.js";
import type { LoadTracker } from "./load.js";
import type { Picker } from "./picker.js";
import type { BalancerRegistry } from "./registry.js";
import { subsetEndpoints } from "./subset.js";

export interface PickerCacheDeps {
  registry: BalancerRegistry;
  /** Endpoints of a service; return the same array while it is unchanged to skip rebuild checks. */
  endpointsOf: (service: string) => readonly Endpoint[];
  load: LoadTracker;
  /** Outlier detection of `service` (see upstream/outlier). */
  isEjected?: (service: string, address: string) => boolean;
  random?: () => number;
}

interface Entry {
  source: readonly Endpoint[];
  key: string;
  policy: DestinationPolicySpec | undefined;
  policyKey: string;
  picker: Picker;
}

const policyKey = (p: DestinationPolicySpec | undefined) => `${p?.loadBalancer ?? "round-robin"}${JSON.stringify(p?.subsets ?? [])}`;

const contentKey = (endpoints: readonly Endpoint[]) => endpoints.map((e) => `${e.address}${JSON.stringify(e.labels)}`).join(",");

export class PickerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: PickerCacheDeps) {}

  /** Picker for `service` (optionally a subset), under the service's DestinationPolicy. */
  get(service: string, subset: string | undefined, policy: DestinationPolicySpec | undefined): Picker {
    const concrete = subset ? `${service}/${subset}` : service;
    const source = this.deps.endpointsOf(service);
    const entry = this.entries.get(concrete);
    if (entry && (entry.policy === policy || entry.policyKey === policyKey(policy))) {
      entry.policy = policy;
      if (entry.source === source) return entry.picker;
      // A fresh array with the same content keeps the picker (and its position).
      const key = contentKey(source);
      if (key === entry.key) {
        entry.source = source;
        return entry.picker;
      }
    }
    const { isEjected, random } = this.deps;
    const picker = this.deps.registry.create(policy?.loadBalancer ?? "round-robin", subsetEndpoints(source, policy, subset), {
      load: this.deps.load,
      random,
      isEjected: isEjected && ((address) => isEjected(service, address)),
    });
    this.entries.set(concrete, { source, key: contentKey(source), policy, policyKey: policyKey(policy), picker });
    return picker;
  }

  /** Forgets targets not in `keep` (call on config change so removed services free memory). */
  retain(keep: ReadonlySet<string>): void {
    for (const concrete of this.entries.keys()) if (!keep.has(concrete)) this.entries.delete(concrete);
  }
}
