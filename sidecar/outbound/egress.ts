// Requests for hosts outside the mesh (Istio's outboundTrafficPolicy). A host that is not a mesh
// service (no snapshot since start named it: outbound/state.ts meshServices) is egress: with ALLOW_ANY, the
// default, it goes to the host and port the app named, as the app sent it (plaintext: the peer is
// not a sidecar, so there is no identity to check); with REGISTRY_ONLY it is refused with 502.
// Metrics label all of it "PassthroughCluster", as Istio does, so external hosts do not grow the
// label set; the access log and spans keep the authority. Egress requests carry a Via entry
// (RFC 9110 7.6.3) naming this sidecar: an app that sends the outbound listener a request for the
// listener's own address would otherwise loop through it until sockets run out.
import { randomBytes } from "node:crypto";
import { MeshError, type Middleware } from "../core/handler.js";
import { hostOfAuthority, PASSTHROUGH_ROUTE } from "../filters/route/layer.js";
import { createPlaintextClient, type PlaintextClient } from "../upstream/plaintext-client.js";

export type EgressMode = "ALLOW_ANY" | "REGISTRY_ONLY";

export const PASSTHROUGH_CLUSTER = "PassthroughCluster";

/** Destinations kept at most; the least recently used one is closed past this. */
const MAX_DESTINATIONS = 256;

/** One plaintext client per egress "host:port", least recently used first out. */
export class EgressClients {
  private readonly clients = new Map<string, PlaintextClient>();

  constructor(private readonly max = MAX_DESTINATIONS) {}

  get size(): number {
    return this.clients.size;
  }

  get(host: string, port: number): PlaintextClient {
    const key = `${host}|${port}`;
    let client = this.clients.get(key);
    if (client) {
      this.clients.delete(key); // re-inserted last: Map order is the recency order
    } else {
      client = createPlaintextClient(host, port, `egress ${host}:${port}`);
      if (this.clients.size >= this.max) {
        const [oldest, evicted] = this.clients.entries().next().value as [string, PlaintextClient];
        this.clients.delete(oldest);
        void evicted.close();
      }
    }
    this.clients.set(key, client);
    return client;
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

export interface EgressDeps {
  isMeshService: (service: string) => boolean;
  mode: () => EgressMode;
  clients: EgressClients;
  /** This sidecar's Via entry (default: "1.1 tsmesh-<random>"). */
  via?: string;
}

export function newVia(): string {
  return `1.1 tsmesh-${randomBytes(6).toString("hex")}`;
}

/** "host:port" of an authority; the port defaults to 80 (the outbound listener takes http only). */
export function egressTarget(authority: string): { host: string; port: number } | undefined {
  const host = hostOfAuthority(authority);
  const rest = authority.slice(host.length);
  const port = rest === "" ? 80 : Number(rest.slice(1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/** Just under the route layer: egress requests leave the mesh stack here. */
export function egressLayer(d: EgressDeps): Middleware {
  const via = d.via ?? newVia();
  return (next) => (req, ctx) => {
    if (ctx.route !== PASSTHROUGH_ROUTE || d.isMeshService(ctx.logical!)) return next(req, ctx);
    if (d.mode() === "REGISTRY_ONLY") {
      return Promise.reject(new MeshError(502, "TSMESH_ERR_NOT_IN_MESH", `"${ctx.logical}" is not a mesh service and outboundTrafficPolicy is REGISTRY_ONLY`));
    }
    const target = egressTarget(req.authority);
    if (!target) return Promise.reject(new MeshError(400, "TSMESH_ERR_BAD_REQUEST", `invalid port in "${req.authority}"`));
    const seen = req.headers.via;
    const seenText = Array.isArray(seen) ? seen.join(", ") : seen;
    if (seenText?.includes(via)) {
      return Promise.reject(new MeshError(508, "TSMESH_ERR_PROXY_LOOP", `the request for ${req.authority} came back to the sidecar that sent it`));
    }
    ctx.logical = PASSTHROUGH_CLUSTER;
    ctx.annotations.egress = true;
    const headers = { ...req.headers, via: seenText ? `${seenText}, ${via}` : via };
    return d.clients.get(target.host, target.port).handler({ ...req, headers }, ctx);
  };
}
