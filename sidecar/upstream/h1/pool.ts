// Keep-alive HTTP/1.1 connections to one upstream: the most recently used idle connection first
// (its socket and TLS state are warm), a new one while under the cap, otherwise a FIFO queue.
// Idle connections close after the keep-alive timeout (the server's `Keep-Alive: timeout` less a
// second, if that is sooner). A request that failed on a reused connection before any response
// byte came back is sent once more on a fresh one when that is safe (replayable body, idempotent
// method): the server closed a keep-alive connection just as we wrote to it.
import type { Socket } from "node:net";
import { H1Connection, type ConnectionEvents } from "./connection.js";
import type { ExchangeHandler, H1Request } from "./exchange.js";

export type Connector = (done: (err: Error | null, socket: Socket | null) => void) => void;

export interface H1PoolOptions {
  connect: Connector;
  /** Max connections; requests beyond it wait in order. Unlimited when unset. */
  maxConnections?: number;
  keepAliveTimeoutMs?: number;
  /** Longest silence from the server during an exchange (head, then between body reads); 300 s as undici. */
  readTimeoutMs?: number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
/** Margin under the server's announced keep-alive timeout, as undici keeps. */
const SERVER_TIMEOUT_MARGIN_MS = 1000;

interface Waiter {
  req: H1Request;
  handler: ExchangeHandler;
}

export class H1Pool {
  private readonly idle: H1Connection[] = [];
  private readonly all = new Set<H1Connection>();
  /** Connections being opened (count toward the cap). */
  private connecting = 0;
  private readonly queue: Waiter[] = [];
  private closing = false;
  private closedResolve: (() => void) | undefined;
  private readonly keepAliveTimeoutMs: number;
  /**
   * One set of callbacks for all connections. Made per connection inside open()'s connect
   * callback, they would share its context and keep the connection's first request alive with it.
   */
  private readonly events: ConnectionEvents = {
    idle: (c, serverTimeoutMs) => this.onIdle(c, serverTimeoutMs),
    closed: (c) => this.onClosed(c),
    resend: (r, h) => this.resend(r, h),
  };

  constructor(private readonly opts: H1PoolOptions) {
    this.keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? 4_000;
  }

  /** Open connections, busy or idle. */
  get size(): number {
    return this.all.size;
  }

  dispatch(req: H1Request, handler: ExchangeHandler): void {
    if (this.closing) {
      handler.onError(Object.assign(new Error("pool is closed"), { code: "UND_ERR_CLOSED" }));
      return;
    }
    const conn = this.idle.pop();
    if (conn) {
      conn.start(req, handler);
      return;
    }
    const max = this.opts.maxConnections;
    if (max === undefined || this.all.size + this.connecting < max) {
      this.open(req, handler);
      return;
    }
    this.queue.push({ req, handler });
  }

  /** Finishes in-flight and queued requests, then closes every connection. */
  close(): Promise<void> {
    this.closing = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    if (this.all.size === 0 && this.connecting === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.closedResolve = resolve));
  }

  /** Closes everything now; in-flight and queued requests fail. */
  destroy(): Promise<void> {
    this.closing = true;
    const err = Object.assign(new Error("pool destroyed"), { code: "UND_ERR_DESTROYED" });
    for (const w of this.queue.splice(0)) w.handler.onError(err);
    for (const conn of [...this.all]) conn.destroy(err);
    this.idle.length = 0;
    return Promise.resolve();
  }

  private open(req: H1Request, handler: ExchangeHandler): void {
    this.connecting++;
    this.opts.connect((err, socket) => {
      this.connecting--;
      if (err || !socket) {
        handler.onError(err ?? new Error("connect failed"));
        this.next();
        return;
      }
      const conn = new H1Connection(socket, this.events, this.opts.readTimeoutMs);
      this.all.add(conn);
      conn.start(req, handler);
    });
  }

  /**
   * A reused connection failed before any response byte (a stale keep-alive: the server never
   * processed it): resend once on a fresh connection if the request can be replayed.
   */
  private resend(req: H1Request, handler: ExchangeHandler): boolean {
    if (this.closing || req.body.kind === "stream" || !IDEMPOTENT.has(req.method)) return false;
    this.open(req, handler);
    return true;
  }

  private onIdle(conn: H1Connection, serverTimeoutMs?: number): void {
    const w = this.nextWaiter();
    if (w) {
      conn.start(w.req, w.handler);
      return;
    }
    if (this.closing) {
      conn.destroy();
      return;
    }
    const ms = serverTimeoutMs === undefined ? this.keepAliveTimeoutMs : Math.min(this.keepAliveTimeoutMs, serverTimeoutMs - SERVER_TIMEOUT_MARGIN_MS);
    if (ms <= 0) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    conn.park(ms);
  }

  /**
   * The oldest waiter still wanting a connection. One abandoned while queued (its client went
   * away) is dropped: started, it would only abort, closing a good connection or opening one.
   */
  private nextWaiter(): Waiter | undefined {
    let w;
    while ((w = this.queue.shift()) && w.handler.abandoned?.());
    return w;
  }

  private onClosed(conn: H1Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.next();
  }

  /** A connection slot freed up: open one for the oldest waiter; resolve close() when all done. */
  private next(): void {
    const max = this.opts.maxConnections;
    while (this.queue.length > 0 && (max === undefined || this.all.size + this.connecting < max)) {
      const w = this.nextWaiter();
      if (w) this.open(w.req, w.handler);
    }
    if (this.closing && this.closedResolve && this.all.size === 0 && this.connecting === 0 && this.queue.length === 0) {
      this.closedResolve();
      this.closedResolve = undefined;
    }
  }
}
