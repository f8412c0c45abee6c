// HTTP/1.1 CONNECT on a listener that serves it (outbound: what HTTP_PROXY clients such as grpc-js
// send before they speak to the target). The listener's owner decides what the tunnel is:
// "serve" — the listener answers 200 and then serves the tunnelled connection itself, as HTTP/1.1
// or HTTP/2, with the CONNECT authority for requests that name none, so every request inside goes
// through the listener's handler like any other; "pipe" — the owner opened a socket (a host outside
// the mesh) and the tunnel is a byte pipe to it. A refusal (MeshError) is the answer as given.
import type { Socket } from "node:net";
import { Cancellation, type CancelSignal } from "../core/cancel.js";
import { MeshError } from "../core/handler.js";
import { parseConnectTarget, type ConnectTarget } from "./connect-target.js";
import { errorReply } from "./errors.js";
import type { Exchange } from "./h1/connection.js";
import type { RequestHead } from "./h1/request-head.js";
import { splice } from "./splice.js";
import type { InFlight } from "./tracker.js";

export type { ConnectTarget } from "./connect-target.js";

export type ConnectDecision = { kind: "serve" } | { kind: "pipe"; socket: Socket };

/** How the listener's owner serves a CONNECT to `target`; rejects with a MeshError to refuse it. */
export type ConnectHook = (target: ConnectTarget, signal: CancelSignal) => Promise<ConnectDecision>;

export interface ConnectOptions {
  /** Undefined: this listener does not serve CONNECT (405). */
  hook?: ConnectHook;
  /** Serves a tunnelled connection on the listener with `authority` as its default authority. */
  serveTunnel: (socket: Socket, head: Buffer, authority: string) => void;
  /** The connection is a tunnel already: a CONNECT inside it is refused (405). */
  inTunnel: boolean;
  inflight: InFlight;
  onError?: (err: unknown, target: string) => void;
}

const CLIENT_GONE = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "downstream closed the connection before the tunnel was open", {}, "reset");

function refuse(exchange: Exchange, err: unknown, done?: () => void): void {
  const reply = errorReply(err);
  exchange.respond({ status: reply.status, headers: reply.headers, body: reply.body }, done);
}

export function serveConnect(head: RequestHead, exchange: Exchange, o: ConnectOptions): void {
  if (!o.hook || o.inTunnel) {
    const where = o.inTunnel ? "inside a CONNECT tunnel" : "on this listener";
    refuse(exchange, new MeshError(405, "TSMESH_ERR_BAD_REQUEST", `CONNECT is not served ${where}; send it to the outbound listener`, { allow: "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS" }));
    return;
  }
  if (head.framing.kind !== "none") {
    refuse(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "a CONNECT request carries no body"));
    return;
  }
  const target = parseConnectTarget(head.target);
  if (!target) {
    refuse(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "CONNECT target must be host:port (e.g. CONNECT greeter:50051)"));
    return;
  }
  const end = o.inflight.begin();
  const cancel = new Cancellation();
  exchange.onClientGone = () => {
    cancel.abort(CLIENT_GONE);
    end();
  };
  o.hook(target, cancel).then(
    (decision) => {
      if (decision.kind === "serve") {
        exchange.establish((socket, rest) => o.serveTunnel(socket, rest, target.authority));
        end(); // requests inside the tunnel are counted one by one
        return;
      }
      const up = decision.socket;
      up.on("error", () => {});
      if (!exchange.establish((socket, rest) => splice(socket, up, rest, end))) {
        up.destroy();
        end();
      }
    },
    (err: unknown) => {
      o.onError?.(err, target.authority);
      refuse(exchange, err, end);
    },
  );
}
