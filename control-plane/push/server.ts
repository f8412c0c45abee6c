// Discovery.Stream over gRPC: authenticate the first request, then hand requests to a
// SidecarSession and new cache versions to every open session. Also keeps the sidecar's endpoint
// registered (under its own lease) while its stream is up. How the stream ends says how the
// endpoint goes: a sidecar that says it is draining deregisters (peers drop it at once); a
// stream that breaks (sidecar killed, network, this replica shutting down) only
// revokes the lease, and config push keeps the endpoint through its removal grace period so a
// sidecar that reconnects to another replica is never removed (push/source.ts).
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../shared/log.js";
import type { NodeInfo } from "../../shared/node-info.js";
import { loadMeshProto, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from "../../shared/proto/load.js";
import type { EndpointRegistration, Store } from "../store/index.js";
import { DEFAULT_NAMESPACE, parseSpiffeId } from "../../shared/identity.js";
import { parseNode } from "./auth.js";
import { PushError } from "./errors.js";
import { SidecarSession, type SessionDeps } from "./session.js";
import type { StatusWriter } from "./status.js";

export interface DiscoveryDeps extends Omit<SessionDeps, "onStatus"> {
  store: Store;
  status: StatusWriter;
  /** Verifies the caller's certificate for `node`; throws PushError. */
  authenticate(peerCertDer: Buffer | undefined, node: NodeInfo): Promise<string>;
  /** Lease TTL of endpoint registrations; default 10 s. */
  endpointTtlSeconds?: number;
  onConnectedChange?: (connected: number) => void;
  log?: Logger;
}

export interface DiscoveryServer {
  /** Tell every open stream a new version is in the cache. */
  notify(): void;
  connected(): number;
  /** Ends every stream (UNAVAILABLE) so sidecars move to another replica. */
  closeAll(): void;
}

type Call = grpc.ServerDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>;

/** The node a sidecar claimed, with the namespace of the SPIFFE ID its stream's client certificate proved (not from the claim). */
type ProvenNode = NodeInfo & { namespace: string };

/** Ends a registration: `drain` for a deliberate deregistration. */
type Unregister = (opts?: { drain?: boolean }) => void;

function keepRegistered(deps: DiscoveryDeps, node: ProvenNode): Unregister {
  if (!node.address || !node.inboundPort) return () => {};
  let reg: EndpointRegistration | undefined;
  let stopped: { drain?: boolean } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async () => {
    try {
      const r = await deps.store.registerEndpoint(
        { service: node.service, instanceId: node.instanceId, address: node.address!, port: node.inboundPort!, labels: node.labels ?? {}, namespace: node.namespace },
        deps.endpointTtlSeconds ?? 10,
      );
      if (stopped) void r.close(stopped);
      else reg = r;
    } catch (err) {
      deps.log?.warn("endpoint registration failed; retrying", { sidecar: node.instanceId, err: err as Error });
      if (!stopped) timer = setTimeout(() => void attempt(), 1000);
    }
  };
  void attempt();
  return (opts = {}) => {
    stopped = opts;
    if (timer) clearTimeout(timer);
    void reg?.close(opts);
  };
}

export function registerDiscovery(server: grpc.Server, deps: DiscoveryDeps): DiscoveryServer {
  const { Discovery } = loadMeshProto();
  const open = new Map<Call, SidecarSession | undefined>();
  // Authenticated streams; counted, not recomputed, as 1,000 sidecars (re)connect at once.
  let sessions = 0;
  const changed = (delta: number) => {
    sessions += delta;
    deps.onConnectedChange?.(sessions);
  };

  const handle = (call: Call) => {
    open.set(call, undefined);
    let session: SidecarSession | undefined;
    let unregister: Unregister = () => {};
    let starting = false;
    let done = false;
    const queued: DiscoveryRequestMsg[] = [];

    /** `drained`: the sidecar said it is shutting down, so it deregisters. */
    const finish = (err?: PushError, ended = false, drained = false) => {
      if (done) return;
      done = true;
      open.delete(call);
      session?.close();
      unregister({ drain: drained });
      if (drained && session) deps.log?.info("sidecar deregistered (draining)", { sidecar: session.node.instanceId, service: session.node.service });
      if (session) {
        void deps.status.remove(session.node.instanceId);
        changed(-1);
      }
      if (err) call.emit("error", err.toServiceError());
      else if (!ended && !call.cancelled) call.end();
    };

    const start = async (first: DiscoveryRequestMsg) => {
      const claimed = parseNode(first.node);
      const id = await deps.authenticate(call.getAuthContext()?.sslPeerCertificate?.raw, claimed);
      // Peers verify this endpoint against spiffe://<td>/ns/<namespace>/sa/<service>.
      const node: ProvenNode = { ...claimed, namespace: parseSpiffeId(id)?.namespace ?? DEFAULT_NAMESPACE };
      // Across replicas: a version this sidecar NACKed elsewhere is not sent again.
      const prior = await deps.status.read(node.instanceId).catch(() => undefined);
      if (done) return;
      const s = new SidecarSession(
        { ...deps, onStatus: (r) => deps.status.set(r) },
        node,
        (res) => {
          if (!done) call.write(res);
        },
        {
          versionInfo: first.versionInfo,
          ...(prior?.nackedVersion && prior.ackedVersion === first.versionInfo ? { nackedVersion: prior.nackedVersion, lastError: prior.lastError } : {}),
        },
      );
      session = s;
      open.set(call, s);
      unregister = keepRegistered(deps, node);
      changed(+1);
      deps.log?.info("sidecar connected", { sidecar: node.instanceId, service: node.service, version: first.versionInfo || "(none)" });
      for (const q of queued.splice(0)) s.onRequest(q);
    };

    call.on("data", (req: DiscoveryRequestMsg) => {
      // Said explicitly: grpc-js ends a cancelled call's readable side too, so a half-close
      // alone does not tell a draining sidecar from a broken stream.
      if (req.draining) return finish(undefined, false, true);
      if (session) return session.onRequest(req);
      if (starting) {
        if (queued.length < 16) queued.push(req);
        return;
      }
      starting = true;
      start(req).catch((err: unknown) => {
        const pe = err instanceof PushError ? err : new PushError("TSMESH_ERR_PROTOCOL", (err as Error).message);
        deps.log?.warn("config stream refused", { code: pe.code, reason: pe.message });
        finish(pe);
      });
    });
    call.on("end", () => finish());
    call.on("cancelled", () => finish());
    // grpc-js ends the call itself after an "error" (it sends that status).
    call.on("error", () => finish(undefined, true));
    call.on("close", () => finish(undefined, true));
  };

  server.addService(Discovery.service, { Stream: handle });

  return {
    notify: () => {
      for (const s of open.values()) s?.onVersion();
    },
    connected: () => sessions,
    closeAll: () => {
      for (const call of [...open.keys()]) call.emit("error", { code: grpc.status.UNAVAILABLE, details: "control plane shutting down" });
    },
  };
}
