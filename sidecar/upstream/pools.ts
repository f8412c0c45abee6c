// Connection pools per endpoint (peer sidecar inbound): an HTTP/1.1 keep-alive pool (h1/pool.ts) and one
// HTTP/2 session, both over mTLS with the peer's SPIFFE ID checked. Kept across config changes
// while the endpoint stays; closed gracefully (in-flight requests finish) once it is gone.
import type { Endpoint } from "../core/handler.js";
import { H1Pool } from "./h1/pool.js";
import { H2Session } from "./h2-sessions.js";
import { connectMtls, type TlsSource } from "./tls-connect.js";

export interface UpstreamTarget {
  readonly h1: H1Pool;
  readonly h2: H2Session;
}

interface Entry extends UpstreamTarget {
  /** The connection cap this entry's pool was built with (undefined: unlimited). */
  readonly connections: number | undefined;
}

export interface PoolOptions {
  /** Max HTTP/1.1 connections per endpoint (DestinationPolicy maxConnections); unlimited when unset. */
  connections?: number;
  keepAliveTimeoutMs?: number;
}

/** Pool key: the same address under a different expected identity is a different pool. */
export const poolKey = (ep: Endpoint): string => `${ep.address}|${ep.identity}`;

export class EndpointPools {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly tlsState: TlsSource,
    private readonly opts: PoolOptions = {},
  ) {}

  /**
   * The pools of `ep`. `maxConnections` (DestinationPolicy connectionPool.maxConnections) caps the
   * HTTP/1.1 connections to it; when the cap changes, the old pools are closed gracefully (their
   * in-flight requests finish) and new ones built with it.
   */
  get(ep: Endpoint, maxConnections?: number): UpstreamTarget {
    const key = poolKey(ep);
    let entry = this.entries.get(key);
    const connections = maxConnections ?? this.opts.connections;
    if (entry && entry.connections !== connections) {
      EndpointPools.closeGracefully(entry);
      entry = undefined;
    }
    if (!entry) {
      entry = this.create(ep, connections);
      this.entries.set(key, entry);
    }
    return entry;
  }

  private static closeGracefully(entry: Entry): void {
    void entry.h1.close();
    entry.h2.close();
  }

  get size(): number {
    return this.entries.size;
  }

  private create(ep: Endpoint, connections: number | undefined): Entry {
    const tlsState = this.tlsState;
    const h1 = new H1Pool({
      maxConnections: connections,
      keepAliveTimeoutMs: this.opts.keepAliveTimeoutMs ?? 20_000,
      connect: (done) => void connectMtls(ep, tlsState, ["http/1.1"], done),
    });
    const h2 = new H2Session(`https://${ep.address}`, (onConnectError) => {
      let failure: Error | undefined;
      const socket = connectMtls(ep, tlsState, ["h2"], (err) => {
        if (!err) return;
        failure = err;
        onConnectError(err);
      });
      if (!socket) throw failure ?? new Error("no workload certificate yet");
      return socket;
    });
    return { h1, h2, connections };
  }

  /** Closes pools of endpoints not in `keep` (keys from poolKey) gracefully. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, entry] of this.entries) {
      if (keep.has(key)) continue;
      this.entries.delete(key);
      EndpointPools.closeGracefully(entry);
    }
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => (e.h2.destroy(), e.h1.destroy())));
  }
}
