// HTTP/1.1 downstream adapter: a request head + body stream -> MeshRequest, MeshResponse -> the
// connection's writer (sidecar/listener/h1). Accepts origin-form with Host and absolute-form
// (`GET http://svc:80/path`, what HTTP_PROXY clients send), and CONNECT where the listener serves
// it (connect.ts). The path is normalised here, once, for every layer and for the next hop
// (request-path.ts). On a tunnelled connection a request without Host takes the tunnel's authority.
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { Cancellation } from "../core/cancel.js";
import { MeshError, type Handler, type MeshRequest, type RequestBody } from "../core/handler.js";
import { isValidAuthority } from "./authority.js";
import { serveConnect, type ConnectHook } from "./connect.js";
import { newContext } from "./context.js";
import { errorReply } from "./errors.js";
import { normalizeRequestPath, pathError, type EscapedSlashes } from "./request-path.js";
import { Http1Connection, type Exchange } from "./h1/connection.js";
import type { RequestHead } from "./h1/request-head.js";
import { endToEndHeaders, responseHeaders } from "./headers.js";
import type { InFlight } from "./tracker.js";

export interface DownstreamOptions {
  handler: Handler;
  inflight: InFlight;
  /** Verified peer SPIFFE ID of the connection a request came on (inbound mTLS). */
  peerOf?: (socket: object) => string | undefined;
  draining: () => boolean;
  /** MeshConfig pathNormalization.escapedSlashes, read per request (dynamic config). */
  escapedSlashes: () => EscapedSlashes;
  onError?: (err: unknown, req: { method: string; authority: string; path: string }) => void;
  /** CONNECT: served only where given (the outbound listener). */
  connect?: ConnectHook;
  /** Serves a connection tunnelled by CONNECT on this listener (set with `connect`). */
  serveTunnel?: (socket: Socket, head: Buffer, authority: string) => void;
  /** The CONNECT authority of a tunnelled connection: the default authority of its requests. */
  tunnelAuthorityOf?: (socket: object) => string | undefined;
}

export interface Http1Limits {
  maxHeaderSize: number;
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
}

const ABSOLUTE = /^https?:\/\/([^/?#]*)(.*)$/is;

const CLIENT_GONE = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "downstream closed the request", {}, "reset");

function requestBody(head: RequestHead, stream: Readable | null): RequestBody {
  if (!stream) return { kind: "empty" };
  const f = head.framing;
  return f.kind === "length" ? { kind: "stream", stream, length: f.length } : { kind: "stream", stream };
}

function clientGone(cancel: Cancellation, end: () => void): void {
  cancel.abort(CLIENT_GONE);
  end();
}

function fail(exchange: Exchange, err: unknown, done?: () => void): void {
  const reply = errorReply(err);
  exchange.respond({ status: reply.status, headers: reply.headers, body: reply.body }, done);
}

/** Serves HTTP/1.1 on `socket` until it closes. */
export function serveHttp1(socket: Socket, opts: DownstreamOptions, limits: Http1Limits): Http1Connection {
  const { handler, inflight, onError } = opts;
  const peer = opts.peerOf?.(socket);
  const tunnelAuthority = opts.tunnelAuthorityOf?.(socket);
  const connect = {
    hook: opts.connect,
    serveTunnel: opts.serveTunnel ?? ((s: Socket) => s.destroy()),
    inTunnel: tunnelAuthority !== undefined,
    inflight,
    onError: (err: unknown, target: string) => onError?.(err, { method: "CONNECT", authority: target, path: "" }),
  };
  return new Http1Connection(socket, {
    ...limits,
    draining: opts.draining,
    onRequest(head, body, exchange) {
      if (head.method === "CONNECT") {
        serveConnect(head, exchange, connect);
        return;
      }
      let path = head.target;
      let authority = (head.headers.host as string | undefined) ?? tunnelAuthority ?? "";
      if (Array.isArray(head.headers.host)) {
        fail(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request has more than one Host header"));
        return;
      }
      if (path.charCodeAt(0) !== 47 /* "/" */) {
        const m = ABSOLUTE.exec(path);
        if (!m || m[1] === "") {
          fail(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request target must be a path or an absolute http URI"));
          return;
        }
        authority = m[1]!;
        path = m[2] || "/";
        if (path.charCodeAt(0) !== 47) path = "/" + path;
      }
      if (authority === "") {
        fail(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request has no Host header"));
        return;
      }
      if (!isValidAuthority(authority)) {
        fail(exchange, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "invalid Host"));
        return;
      }
      const normal = normalizeRequestPath(path, opts.escapedSlashes());
      if (!normal.ok) {
        fail(exchange, pathError(normal));
        return;
      }
      path = normal.path;
      const end = inflight.begin();
      const cancel = new Cancellation();
      // Bound, not an arrow closing over this function's scope: with the arrow, every request's
      // head, MeshRequest and context survived V8's young-generation collections (~400 bytes a
      // request, promoted and freed only by a full GC); the bound function holds just the two.
      exchange.onClientGone = clientGone.bind(null, cancel, end);
      const meshReq: MeshRequest = {
        method: head.method,
        authority,
        path,
        headers: endToEndHeaders(head.headers),
        body: requestBody(head, body),
        protocol: "http/1.1",
        upgrade: head.upgrade,
        signal: cancel,
      };
      handler(meshReq, newContext(peer)).then(
        (out) => exchange.respond({ status: out.status, headers: responseHeaders(out.headers), body: out.body, upgraded: out.upgraded }, end),
        (err: unknown) => {
          onError?.(err, meshReq);
          fail(exchange, err, end);
        },
      );
    },
  });
}
