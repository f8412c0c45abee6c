// Outlier detection for one service (Envoy outlier_detection, consecutive_5xx): an endpoint that
// fails consecutive5xx times in a row is ejected for baseEjectionTime x times-ejected, at most
// maxEjectionPercent of endpoints at once. Ejection ends by time (checked lazily on read); the
// multiplier decays by one per `interval` spent healthy, as in Envoy.
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import { parseDuration } from "../../../shared/duration.js";

export type OutlierSpec = NonNullable<DestinationPolicySpec["outlierDetection"]>;
/** Outcome of one attempt on an endpoint; local-origin failures count like 5xx (Envoy default). */
export type EndpointOutcome = "success" | "5xx" | "connect-failure" | "reset" | "timeout";

export interface EjectionEvent {
  service: string;
  address: string;
  /** How many times this endpoint has been ejected (after decay), this one included. */
  times: number;
  durationMs: number;
}

/** Envoy's max_ejection_time default: the growing ejection time stops here. */
const MAX_EJECTION_MS = 300_000;

interface EndpointState {
  consecutive: number;
  times: number;
  ejectedUntil: number;
  healthySince: number;
}

export class OutlierDetector {
  private readonly states = new Map<string, EndpointState>();
  private consecutive5xx = 5;
  private intervalMs = 10_000;
  private baseMs = 30_000;
  private maxPercent = 10;
  private spec: OutlierSpec | undefined;

  constructor(
    readonly service: string,
    spec: OutlierSpec,
    private readonly onEject: (e: EjectionEvent) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.configure(spec);
  }

  configure(spec: OutlierSpec): void {
    if (spec === this.spec) return;
    this.spec = spec;
    this.consecutive5xx = spec.consecutive5xx;
    this.intervalMs = parseDuration(spec.interval);
    this.baseMs = parseDuration(spec.baseEjectionTime);
    this.maxPercent = spec.maxEjectionPercent;
  }

  /** The service's current endpoints: the base of maxEjectionPercent. Forgets removed ones. */
  setEndpoints(addresses: Iterable<string>): void {
    const keep = new Set(addresses);
    for (const a of this.states.keys()) if (!keep.has(a)) this.states.delete(a);
    for (const a of keep) this.state(a);
  }

  private state(address: string): EndpointState {
    let s = this.states.get(address);
    if (!s) {
      s = { consecutive: 0, times: 0, ejectedUntil: 0, healthySince: this.now() };
      this.states.set(address, s);
    }
    return s;
  }

  isEjected(address: string): boolean {
    const s = this.states.get(address);
    if (!s || s.ejectedUntil === 0) return false;
    if (s.ejectedUntil > this.now()) return true;
    s.healthySince = s.ejectedUntil;
    s.ejectedUntil = 0;
    s.consecutive = 0;
    return false;
  }

  ejected(): string[] {
    return [...this.states.keys()].filter((a) => this.isEjected(a));
  }

  /** Ejections allowed at once: at least one, but one endpoint always stays unless the policy says 100. */
  private maxEjected(): number {
    const n = this.states.size;
    if (this.maxPercent >= 100) return n;
    return Math.min(n - 1, Math.max(1, Math.floor((n * this.maxPercent) / 100)));
  }

  report(address: string, outcome: EndpointOutcome): void {
    const s = this.state(address);
    // Late answers from requests sent before the ejection do not extend or reset it.
    if (this.isEjected(address)) return;
    if (outcome === "success") {
      s.consecutive = 0;
      return;
    }
    s.consecutive++;
    if (s.consecutive < this.consecutive5xx || this.ejected().length >= this.maxEjected()) return;
    const now = this.now();
    const decay = Math.floor((now - s.healthySince) / this.intervalMs);
    s.times = Math.max(0, s.times - decay) + 1;
    const durationMs = Math.min(this.baseMs * s.times, Math.max(this.baseMs, MAX_EJECTION_MS));
    s.ejectedUntil = now + durationMs;
    s.consecutive = 0;
    this.onEject({ service: this.service, address, times: s.times, durationMs });
  }
}
