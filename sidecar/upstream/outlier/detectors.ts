// Outlier detectors per service, present only for services whose DestinationPolicy enables
// outlier detection; state survives policy updates.
import { followSpec } from "../../core/follow-spec.js";
import type { EjectionEvent, OutlierDetector as Detector, OutlierSpec } from "./detector.js";
import { OutlierDetector } from "./detector.js";

export class OutlierDetectors {
  private readonly detectors = new Map<string, Detector>();
  /** Endpoints per service, kept even before a detector exists (they are created lazily). */
  private readonly endpoints = new Map<string, string[]>();

  /** `onEject` feeds tsmesh_outlier_ejections_total and logs. */
  constructor(
    private readonly onEject: (e: EjectionEvent) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The detector of `service`, created or reconfigured from its policy; undefined when disabled. */
  for(service: string, spec: OutlierSpec | undefined): Detector | undefined {
    return followSpec(this.detectors, service, spec, (s) => {
      const created = new OutlierDetector(service, s, this.onEject, this.now);
      const known = this.endpoints.get(service);
      if (known) created.setEndpoints(known);
      return created;
    });
  }

  /** For PickerCache's isEjected option. */
  isEjected = (service: string, address: string): boolean => this.detectors.get(service)?.isEjected(address) ?? false;

  /** Call when a service's endpoints change (config push) so maxEjectionPercent counts right. */
  setEndpoints(service: string, addresses: Iterable<string>): void {
    const list = [...addresses];
    this.endpoints.set(service, list);
    this.detectors.get(service)?.setEndpoints(list);
  }
}
