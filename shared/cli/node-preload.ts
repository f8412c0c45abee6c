// Loaded into a Node app by `tsmesh run` (NODE_OPTIONS=--import <this file>): Node's fetch and
// node:http ignore HTTP_PROXY, so plain-http requests are sent to the sidecar's outbound listener
// here instead, origin-form with the target's Host header, which the listener routes on. It runs
// inside the app, so it imports only node: builtins, and it does nothing without TSMESH_OUTBOUND.
// Left alone: https:// (the app's own TLS is egress), hosts in NO_PROXY, node:http requests with
// an agent of their own (or agent: false), and a global dispatcher the app installs itself.
import http from "node:http";
import net from "node:net";

/** "host:port" of the outbound listener, or undefined when TSMESH_OUTBOUND is unset or malformed. */
export function outboundAddress(value: string | undefined): { host: string; port: number } | undefined {
  const m = value ? /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim()) : null;
  const port = m ? Number(m[2]) : 0;
  return m && port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/** Whether a request for `hostname` goes to the mesh: not a NO_PROXY host (exact, or a domain suffix). */
export function meshedHost(hostname: string, noProxy: string | undefined): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  for (const raw of (noProxy ?? "").split(",")) {
    const entry = raw.trim().toLowerCase().replace(/^\[|\]$/g, "").replace(/^\*?\./, ".");
    if (entry === "*") return false;
    if (entry && (host === entry.replace(/^\./, "") || (entry.startsWith(".") && host.endsWith(entry)))) return false;
  }
  return host !== "";
}

/** Whether a request for `origin` (an http: or https: URL) goes to the mesh: plain http only. */
export function meshedOrigin(origin: string, noProxy: string | undefined): boolean {
  try {
    const url = new URL(origin);
    return url.protocol === "http:" && meshedHost(url.hostname, noProxy);
  } catch {
    return false;
  }
}

// The bundled undici's global dispatcher (an Agent), as fetch reads it; the slice used here.
interface Dispatcher {
  dispatch(opts: { origin?: unknown }, handler: unknown): boolean;
  close(): Promise<void>;
  destroy(err?: unknown): Promise<void>;
}
type AgentClass = new (opts?: { connect?: (o: unknown, cb: (err: Error | null, socket: net.Socket | null) => void) => void }) => Dispatcher;
const DISPATCHER = Symbol.for("undici.globalDispatcher.1");

function meshFetch(outbound: { host: string; port: number }, noProxy: string | undefined): void {
  void globalThis.Headers; // loads Node's bundled undici, which installs its default Agent
  const slot = globalThis as unknown as Record<symbol, Dispatcher | undefined>;
  const direct = slot[DISPATCHER];
  if (!direct) return;
  const Agent = direct.constructor as AgentClass;
  const mesh = new Agent({
    connect: (_opts, cb) => {
      const socket = net.connect(outbound.port, outbound.host);
      socket.setNoDelay(true);
      socket.once("error", (err) => cb(err, null));
      socket.once("connect", () => cb(null, socket));
    },
  });
  // One dispatcher in the global slot: plain-http mesh origins to `mesh`, the rest as before.
  class MeshDispatcher extends Agent {
    override dispatch(opts: { origin?: unknown }, handler: unknown): boolean {
      return meshedOrigin(String(opts.origin), noProxy) ? mesh.dispatch(opts, handler) : super.dispatch(opts, handler);
    }
    override async close(): Promise<void> {
      await Promise.all([mesh.close(), super.close()]);
    }
    override async destroy(err?: unknown): Promise<void> {
      await Promise.all([mesh.destroy(err), super.destroy(err)]);
    }
  }
  slot[DISPATCHER] = new MeshDispatcher();
}

function meshHttp(outbound: { host: string; port: number }, noProxy: string | undefined): void {
  class MeshAgent extends http.Agent {
    // As Node's own: net.createConnection, with the target swapped for the outbound listener.
    override createConnection(opts: http.ClientRequestArgs, cb?: (err: Error | null, socket: net.Socket) => void): net.Socket {
      const onConnect = cb as (() => void) | undefined; // Node's agent guards a second call
      if (!meshedHost(opts.host ?? opts.hostname ?? "localhost", noProxy)) return net.createConnection(opts as net.NetConnectOpts, onConnect);
      return net.createConnection({ host: outbound.host, port: outbound.port }, onConnect);
    }
  }
  // Node's own global agent settings (keep-alive, 5 s idle timeout).
  http.globalAgent = new MeshAgent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });
}

const outbound = outboundAddress(process.env.TSMESH_OUTBOUND);
if (outbound) {
  const noProxy = process.env.NO_PROXY ?? process.env.no_proxy;
  meshHttp(outbound, noProxy);
  meshFetch(outbound, noProxy);
}
