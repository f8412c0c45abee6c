// One listening port serving HTTP/1.1 and HTTP/2 (prior knowledge) and, when TLS is configured,
// mTLS with ALPN h2/http1.1, all on the same socket: the first bytes decide (sniff.ts). Inbound
// uses TLS (STRICT: TLS only; PERMISSIVE: plaintext too); outbound is plaintext from the app.
// A listener given a `connect` hook also serves HTTP/1.1 CONNECT (connect.ts); a tunnel it serves
// itself is sniffed and served like a fresh plaintext connection, tagged with its authority.
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import type { Handler } from "../core/handler.js";
import type { Logger } from "../../shared/log.js";
import { spiffeIdOf } from "../../shared/pki/spiffe.js";
import type { TlsState } from "../config/tls-material.js";
import type { ConnectHook } from "./connect.js";
import type { Http1Connection } from "./h1/connection.js";
import { serveHttp1, type DownstreamOptions } from "./http1.js";
import { http2StreamListener } from "./http2.js";
import type { EscapedSlashes } from "./request-path.js";
import { sniff, type Sniffed } from "./sniff.js";
import { InFlight } from "./tracker.js";

export const MAX_HEADER_SIZE = 16 * 1024;
/** Idle keep-alive connections from clients close after this. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** A request head must arrive within this (Node's server default), against slow-header clients. */
const HEADERS_TIMEOUT_MS = 60_000;
const SNIFF_TIMEOUT_MS = 10_000;
const PEER = Symbol("tsmesh.peerIdentity");
const TUNNEL = Symbol("tsmesh.tunnelAuthority");

export interface ListenerTls {
  /** Current TLS state (rotates); undefined until a certificate is available. */
  state: () => TlsState | undefined;
  mode: () => "STRICT" | "PERMISSIVE";
}

export interface ListenerOptions {
  name: string;
  host: string;
  port: number;
  handler: Handler;
  log: Logger;
  tls?: ListenerTls;
  maxHeaderSize?: number;
  /** MeshConfig pathNormalization.escapedSlashes (default REJECT), read per request. */
  escapedSlashes?: () => EscapedSlashes;
  /** Called each time the listener's last in-flight request ends. */
  onIdle?: () => void;
  /** Serve HTTP/1.1 CONNECT (the outbound listener); without it CONNECT gets 405. */
  connect?: ConnectHook;
}

type Tagged = object & { [PEER]?: string; [TUNNEL]?: string };

function peerOf(socket: object): string | undefined {
  return (socket as Tagged)[PEER];
}

function tunnelAuthorityOf(socket: object): string | undefined {
  return (socket as Tagged)[TUNNEL];
}

export class MeshListener {
  readonly inflight: InFlight;
  private readonly netServer: net.Server;
  private readonly downstream: DownstreamOptions;
  private readonly h1Limits: { maxHeaderSize: number; keepAliveTimeoutMs: number; headersTimeoutMs: number };
  private readonly h1Connections = new Set<Http1Connection>();
  private readonly h2: http2.Http2Server;
  private tlsServer: tls.Server | undefined;
  private tlsContext: tls.SecureContext | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private draining = false;

  constructor(private readonly opts: ListenerOptions) {
    this.inflight = new InFlight(opts.onIdle);
    const maxHeaderSize = opts.maxHeaderSize ?? MAX_HEADER_SIZE;
    const downstream: DownstreamOptions = {
      handler: opts.handler,
      inflight: this.inflight,
      peerOf: opts.tls ? peerOf : undefined,
      draining: () => this.draining,
      escapedSlashes: opts.escapedSlashes ?? (() => "REJECT"),
      connect: opts.connect,
      serveTunnel: (socket, head, authority) => this.serveTunnel(socket, head, authority),
      tunnelAuthorityOf: opts.connect ? tunnelAuthorityOf : undefined,
      onError: (err: unknown, req: { method: string; authority: string; path: string }) => {
        const e = err as { status?: number; code?: string; message?: string };
        if (!e.status || e.status >= 500)
          opts.log.debug("request failed", { method: req.method, authority: req.authority, path: req.path, status: e.status, code: e.code, error: e.message });
      },
    };
    this.downstream = downstream;
    this.h1Limits = { maxHeaderSize, keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS };
    this.h2 = http2.createServer({ maxSessionMemory: 32, settings: { maxHeaderListSize: maxHeaderSize } });
    this.h2.on("stream", http2StreamListener(downstream));
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.on("error", () => {});
      session.once("close", () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
    this.h2.on("sessionError", () => {});
    this.netServer = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.netServer.once("error", reject);
      this.netServer.listen(this.opts.port, this.opts.host, () => {
        this.netServer.off("error", reject);
        resolve();
      });
    });
    return (this.netServer.address() as net.AddressInfo).port;
  }

  get port(): number {
    return (this.netServer.address() as net.AddressInfo | null)?.port ?? 0;
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
    if (this.draining) {
      socket.destroy();
      return;
    }
    sniff(socket, SNIFF_TIMEOUT_MS, (kind) => {
      if (kind === "tls") {
        const server = this.opts.tls ? this.tlsFor() : undefined;
        if (!server) {
          this.opts.log.warn("TLS connection refused: no certificate yet or TLS not served here", { listener: this.opts.name });
          socket.destroy();
          return;
        }
        server.emit("connection", socket);
        return;
      }
      if (this.opts.tls && this.opts.tls.mode() === "STRICT") {
        this.opts.log.warn("plaintext connection refused: mTLS is STRICT", { listener: this.opts.name, remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      this.serveCleartext(socket, kind);
    });
  }

  /** A plaintext connection, after sniffing: HTTP/2 prior knowledge or HTTP/1.1. */
  private serveCleartext(socket: net.Socket, kind: Exclude<Sniffed, "tls">): void {
    if (kind === "h2") this.h2.emit("connection", socket);
    else {
      this.serveH1(socket);
      socket.resume();
    }
  }

  /**
   * A connection tunnelled by CONNECT (already answered 200): served as HTTP/1.1 or HTTP/2 with
   * `authority` for requests that name none. TLS inside is refused: the mesh originates mTLS to the
   * peer itself, so the app must speak plaintext to a mesh service.
   */
  private serveTunnel(socket: net.Socket, head: Buffer, authority: string): void {
    (socket as Tagged)[TUNNEL] = authority;
    if (head.length > 0) socket.unshift(head);
    sniff(socket, SNIFF_TIMEOUT_MS, (kind) => {
      if (kind === "tls") {
        this.opts.log.warn("TLS inside a CONNECT tunnel to a mesh service refused: the sidecar adds mTLS itself, so the app should speak plaintext (http://, insecure gRPC credentials)", { listener: this.opts.name, authority });
        socket.destroy();
        return;
      }
      this.serveCleartext(socket, kind);
    });
    socket.resume(); // left paused by the HTTP/1.1 connection that answered the CONNECT
  }

  /** The TLS server for the current certificate; rebuilt contexts take effect for new handshakes. */
  private tlsFor(): tls.Server | undefined {
    const state = this.opts.tls!.state();
    if (!state) return undefined;
    if (!this.tlsServer) {
      this.tlsServer = tls.createServer({
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      this.tlsServer.on("secureConnection", (s: tls.TLSSocket) => this.onSecure(s));
      this.tlsServer.on("tlsClientError", (err: NodeJS.ErrnoException, s: tls.TLSSocket) => {
        this.opts.log.warn("TLS handshake refused", { listener: this.opts.name, code: err.code, remote: s.remoteAddress });
        s.destroy();
      });
    }
    if (this.tlsContext !== state.secureContext) {
      this.tlsContext = state.secureContext;
      this.tlsServer.setSecureContext(state.options);
    }
    return this.tlsServer;
  }

  private onSecure(socket: tls.TLSSocket): void {
    socket.on("error", () => {});
    const cert = socket.getPeerCertificate();
    (socket as Tagged)[PEER] = cert && cert.raw ? spiffeIdOf(cert) : undefined;
    if (socket.alpnProtocol === "h2") this.h2.emit("connection", socket);
    else this.serveH1(socket);
  }

  private serveH1(socket: net.Socket): void {
    const conn = serveHttp1(socket, this.downstream, this.h1Limits);
    this.h1Connections.add(conn);
    socket.once("close", () => this.h1Connections.delete(conn));
  }

  /**
   * Graceful drain: stop accepting, ask keep-alive clients to go (Connection: close, GOAWAY),
   * wait for in-flight exchanges up to `deadlineMs`, then close what is left. True if all finished.
   */
  async drain(deadlineMs: number): Promise<boolean> {
    this.draining = true;
    this.netServer.close();
    for (const s of this.sessions) s.close();
    for (const c of this.h1Connections) if (c.idle) c.close();
    const idle = await this.inflight.idle(deadlineMs);
    this.close();
    return idle;
  }

  /** Closes everything at once. */
  close(): void {
    this.draining = true;
    this.netServer.close();
    for (const s of this.sessions) s.destroy();
    for (const c of this.h1Connections) c.close();
    for (const s of this.sockets) s.destroy();
  }
}
