// Resource limits of one destination (Envoy circuit breakers, DestinationPolicy.connectionPool):
// at most maxRequests active, maxPendingRequests queued for a slot, maxRetries concurrent
// retries. A full limit answers at once with a 503 naming it: failing fast protects both sides.
import type { DestinationPolicySpec } from "../../../shared/schema/destination-policy.js";
import { MeshError } from "../../core/handler.js";
import type { CancelSignal } from "../../core/cancel.js";

export type LimitsSpec = NonNullable<DestinationPolicySpec["connectionPool"]>;
export type Release = () => void;
export type LimitName = "maxRequests" | "maxPendingRequests" | "maxRetries";

export function overflowError(service: string, limit: LimitName): MeshError {
  return new MeshError(503, "TSMESH_ERR_OVERFLOW", `${limit} of "${service}" reached`, { "x-tsmesh-overflow": limit }, "overflow");
}

/** maxConnections is enforced by the connection pool; this reads it for the pool. */
export function maxConnectionsOf(policy: DestinationPolicySpec | undefined): number | undefined {
  return policy?.connectionPool?.maxConnections;
}

interface Waiter {
  grant: (release: Release) => void;
}

export class ResourceLimits {
  private active = 0;
  private retries = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly service: string,
    private spec: LimitsSpec,
  ) {}

  configure(spec: LimitsSpec): void {
    this.spec = spec;
    while (this.queue.length > 0 && this.hasSlot()) {
      this.active++;
      this.queue.shift()!.grant(this.releaser());
    }
  }

  private hasSlot(): boolean {
    return this.spec.maxRequests === undefined || this.active < this.spec.maxRequests;
  }

  /** Without maxPendingRequests nothing queues: a full maxRequests overflows at once (Envoy). */
  private get maxPending(): number {
    return this.spec.maxPendingRequests ?? 0;
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }

  /** A slot for one request (with its retries): at once, after queueing, or a 503 overflow. */
  acquire(signal?: CancelSignal): Release | Promise<Release> {
    if (this.hasSlot()) {
      this.active++;
      return this.releaser();
    }
    if (this.queue.length >= this.maxPending) {
      throw overflowError(this.service, this.maxPending === 0 ? "maxRequests" : "maxPendingRequests");
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i !== -1) this.queue.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** A slot for one concurrent retry, or undefined when maxRetries are already running. */
  tryAcquireRetry(): Release | undefined {
    if (this.spec.maxRetries !== undefined && this.retries >= this.spec.maxRetries) return undefined;
    this.retries++;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.retries--;
      }
    };
  }

  /** Saturated limits; "open" in metrics means at least one. */
  saturated(): LimitName[] {
    const out: LimitName[] = [];
    if (!this.hasSlot()) out.push("maxRequests");
    if (this.maxPending > 0 && this.queue.length >= this.maxPending) out.push("maxPendingRequests");
    if (this.spec.maxRetries !== undefined && this.retries >= this.spec.maxRetries) out.push("maxRetries");
    return out;
  }

  state(): { active: number; pending: number; retries: number; open: boolean } {
    return { active: this.active, pending: this.queue.length, retries: this.retries, open: this.saturated().length > 0 };
  }
}
