// What a CONNECT on the outbound listener opens (HTTP_PROXY clients such as grpc-js tunnel every
// call this way). A host the mesh knows — a route names it, or it is a mesh service — is served
// by the sidecar itself: the requests inside the tunnel go through the outbound stack like any
// other (routes, retries, metrics, mTLS to the peer, whose authz sees this service's identity),
// whatever port the app named, since a mesh service is reached through its sidecar. Any other
// host follows outboundTrafficPolicy as egress.ts does: ALLOW_ANY opens a plain TCP tunnel to the
// host:port named, REGISTRY_ONLY refuses it with 502.
import type { Socket } from "node:net";
import type { CancelSignal } from "../core/cancel.js";
import { MeshError } from "../core/handler.js";
import { selectRoute, type RouteTable } from "../filters/route/table.js";
import type { ConnectDecision, ConnectHook, ConnectTarget } from "../listener/connect.js";
import { connectFailure, upstreamError } from "../upstream/errors.js";
import { connectTcp } from "../upstream/tcp-connect.js";
import type { EgressMode } from "./egress.js";

export interface OutboundConnectDeps {
  routeTable: () => RouteTable;
  isMeshService: (service: string) => boolean;
  mode: () => EgressMode;
  /** Opens the TCP connection of an egress tunnel (default: connectTcp, bounded). */
  dial?: (host: string, port: number, signal: CancelSignal) => Promise<Socket>;
  /**
   * Called once per CONNECT to a host outside the mesh with the status it was answered (200: the
   * tunnel is open): its bytes are opaque, so the tunnel counts as one request (metrics).
   */
  onEgress?: (status: number) => void;
}

const SERVE: ConnectDecision = { kind: "serve" };

/** True when requests for `host` stay in the mesh (the route and egress layers agree on this). */
export function isMeshHost(d: Pick<OutboundConnectDeps, "routeTable" | "isMeshService">, host: string): boolean {
  const sel = selectRoute(d.routeTable(), { host, path: "/", method: "CONNECT", headers: {} });
  return sel.kind !== "passthrough" || d.isMeshService(sel.logical);
}

export function dialTcp(host: string, port: number, signal: CancelSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    connectTcp(host, port, (err, socket) => {
      if (err || !socket) return reject(upstreamError(err ?? connectFailure("no socket"), signal, `${host}:${port}`));
      if (signal.aborted) {
        socket.destroy();
        return reject(signal.reason);
      }
      resolve(socket);
    });
  });
}

export function outboundConnect(d: OutboundConnectDeps): ConnectHook {
  const dial = d.dial ?? dialTcp;
  const egress = (target: ConnectTarget, signal: CancelSignal): Promise<ConnectDecision> => {
    if (d.mode() === "REGISTRY_ONLY") {
      return Promise.reject(new MeshError(502, "TSMESH_ERR_NOT_IN_MESH", `"${target.host}" is not a mesh service and outboundTrafficPolicy is REGISTRY_ONLY`));
    }
    return dial(target.hostname, target.port, signal).then((socket) => ({ kind: "pipe", socket }));
  };
  return (target: ConnectTarget, signal: CancelSignal) => {
    if (isMeshHost(d, target.host)) return Promise.resolve(SERVE);
    const decided = egress(target, signal);
    const onEgress = d.onEgress;
    if (!onEgress) return decided;
    return decided.then(
      (decision) => (onEgress(200), decision),
      (err: unknown) => {
        onEgress(err instanceof MeshError ? err.status : 502);
        throw err;
      },
    );
  };
}
