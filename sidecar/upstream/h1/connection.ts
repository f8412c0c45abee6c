// One keep-alive HTTP/1.1 connection to an upstream (the local app, or a peer sidecar over
// mTLS), carrying one exchange at a time (no pipelining). The exchange's path, top to bottom:
// write the request head (+ body), read the response head (1xx skipped), stream the body out as
// the decoder frames it, and hand the connection back to its pool only when both directions
// finished cleanly and the server allows reuse. Anything unexpected closes the connection.
import type { Socket } from "node:net";
import { BodyDecoder } from "../../http1/body-decoder.js";
import { LAST_CHUNK, writeChunk } from "../../http1/chunked.js";
import { requestHead } from "./request-head.js";
import { ProtocolError } from "../../http1/syntax.js";
import { parseResponseHead, type ResponseHead } from "./response-head.js";
import type { H1Request, ExchangeHandler } from "./exchange.js";

/** Response heads larger than this are refused (undici's and Node's default is 16 KiB; apps with many cookies need more). */
export const MAX_RESPONSE_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");

export interface ConnectionEvents {
  /** The exchange finished and the connection may carry another. */
  idle(conn: H1Connection, keepAliveTimeoutMs?: number): void;
  /** The connection is gone (error, close, not reusable). */
  closed(conn: H1Connection): void;
  /** A reused connection failed before any response byte: true if the pool sent `req` again. */
  resend(req: H1Request, handler: ExchangeHandler): boolean;
}

export class UpstreamClosedError extends Error {
  readonly code = "ECONNRESET";
}

/** A streamed request body did not match the Content-Length sent for it. */
export class RequestLengthError extends Error {
  readonly code = "TSMESH_ERR_BODY_LENGTH";
}

export class H1Connection {
  /** Exchanges this connection carried; a failure on a reused connection may be a stale keep-alive. */
  exchanges = 0;
  private handler: ExchangeHandler | undefined;
  private method = "GET";
  /** Response head bytes gathered so far. */
  private pending: Buffer | undefined;
  private decoder: BodyDecoder | undefined;
  private head: ResponseHead | undefined;
  private responseBytes = 0;
  private requestDone = false;
  private responseDone = false;
  private gone = false;
  /** Keep-alive expiry while parked; one timer per connection, re-armed by each park. */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;
  private req: H1Request | undefined;
  private aborted = false;

  /**
   * `readTimeoutMs`: how long an exchange may go without a byte from the server (waiting for the
   * head, or between body reads), as undici's headersTimeout/bodyTimeout: a server that took the
   * request and went silent must not hold the exchange (and the downstream client) forever.
   */
  constructor(
    readonly socket: Socket,
    private readonly events: ConnectionEvents,
    private readonly readTimeoutMs = 300_000,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("timeout", () => this.onTimeout());
    socket.on("end", () => this.onEnd());
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new UpstreamClosedError("upstream closed the connection")));
    // Armed for the connection's life: a socket timer restarts on every read and write, and
    // onTimeout ignores it while parked (the idle timer closes parked connections sooner).
    socket.setTimeout(readTimeoutMs);
  }

  get busy(): boolean {
    return this.handler !== undefined;
  }

  get destroyed(): boolean {
    return this.gone;
  }

  start(req: H1Request, handler: ExchangeHandler): void {
    this.exchanges++;
    this.handler = handler;
    this.method = req.method;
    this.head = undefined;
    this.decoder = undefined;
    this.pending = undefined;
    this.responseBytes = 0;
    this.requestDone = false;
    this.responseDone = false;
    this.req = req;
    handler.onStart?.((err) => this.abort(err));
    if (this.gone) return;
    let head;
    try {
      head = requestHead(req.method, req.path, req.authority, req.headers, req.body, req.upgrade);
    } catch (err) {
      this.aborted = true; // a request refused here would be refused again: never resent
      this.fail(err as Error);
      return;
    }
    const socket = this.socket;
    const body = req.body;
    // latin1: header values are byte strings (as Node's server parsed them), one char per byte.
    if (body.kind === "empty") {
      socket.write(head.text, "latin1");
      this.requestDone = true;
    } else if (body.kind === "buffered") {
      socket.cork();
      socket.write(head.text, "latin1");
      if (body.data.length > 0) socket.write(body.data);
      socket.uncork();
      this.requestDone = true;
    } else {
      socket.write(head.text, "latin1");
      this.streamBody(body.stream, head.chunked, head.length);
    }
  }

  /**
   * Idle connections close after `ms` unused. They keep reading: a server's close is seen at once.
   * The timer is not cleared when an exchange starts (a cleared timer cannot be re-armed): it is
   * ignored if it fires while busy, and restarted here.
   */
  park(ms: number): void {
    if (this.socket.isPaused()) this.socket.resume();
    if (this.idleTimer && this.idleMs === ms) {
      this.idleTimer.refresh();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleMs = ms;
    this.idleTimer = setTimeout(() => {
      if (!this.busy) this.destroy(new UpstreamClosedError("idle keep-alive connection closed"));
    }, ms);
    this.idleTimer.unref();
  }

  destroy(err?: Error): void {
    this.fail(err ?? new UpstreamClosedError("connection closed by the client"));
  }

  /**
   * `length`: the Content-Length sent. A stream giving more bytes than that would have the excess
   * read as the next request (smuggling), fewer would leave the server waiting: both fail.
   */
  private streamBody(stream: NodeJS.ReadableStream & { destroyed?: boolean }, chunked: boolean, length: number | undefined): void {
    const socket = this.socket;
    let left = length ?? -1;
    const onData = (chunk: Buffer) => {
      if (this.gone) return;
      if (left >= 0 && (left -= chunk.length) < 0) return onError(new RequestLengthError("request body longer than its Content-Length"));
      const ok = chunked ? writeChunk(socket, chunk) : socket.write(chunk);
      if (!ok) {
        stream.pause();
        socket.once("drain", () => stream.resume());
      }
    };
    const onEnd = () => {
      cleanup();
      if (this.gone) return;
      if (left > 0) return this.fail(new RequestLengthError("request body shorter than its Content-Length"));
      if (chunked) socket.write(LAST_CHUNK, "latin1");
      this.requestDone = true;
    };
    const onError = (err: Error) => {
      cleanup();
      this.fail(err);
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
  }

  private onData(chunk: Buffer): void {
    const handler = this.handler;
    if (!handler || this.responseDone) {
      // Bytes nobody asked for: the server is out of step with us; never reuse this connection.
      this.fail(new ProtocolError("unsolicited data from upstream"));
      return;
    }
    this.responseBytes += chunk.length;
    try {
      let buf = chunk;
      while (buf.length > 0 && this.handler === handler && !this.responseDone) {
        if (!this.decoder) {
          const rest = this.readHead(buf);
          if (rest === undefined) return;
          buf = rest;
          continue;
        }
        const r = this.decoder.decode(buf, (data) => {
          if (!handler.onData(data)) this.socket.pause();
        });
        buf = buf.subarray(r.consumed);
        if (r.done) {
          if (buf.length > 0) throw new ProtocolError("data after the end of the response");
          this.complete(handler, () => handler.onComplete());
        }
      }
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Gathers head bytes; once a head is complete, starts its body. Returns the bytes after it. */
  private readHead(chunk: Buffer): Buffer | undefined {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    // Search from just before the new bytes: the terminator can straddle two reads.
    const from = this.pending ? Math.max(0, this.pending.length - 3) : 0;
    const end = buf.indexOf(CRLFCRLF, from);
    if (end < 0) {
      if (buf.length > MAX_RESPONSE_HEAD) throw new ProtocolError("response head too large");
      this.pending = buf;
      return undefined;
    }
    if (end > MAX_RESPONSE_HEAD) throw new ProtocolError("response head too large");
    this.pending = undefined;
    const head = parseResponseHead(buf.toString("latin1", 0, end), this.method);
    const rest = buf.subarray(end + 4);
    if (head.status < 200) {
      // 100 Continue / 103 Early Hints: informational, the real response follows. 101 would
      // switch protocols, which the sidecar does not proxy over HTTP/1.1.
      if (head.status === 101) {
        const handler = this.handler!;
        if (!this.req?.upgrade || !handler.onUpgrade) throw new ProtocolError("upstream switched protocols unasked");
        this.detach();
        handler.onUpgrade(head, this.socket, rest);
        return undefined;
      }
      return rest;
    }
    this.head = head;
    const handler = this.handler!;
    const framing = head.framing;
    if (handler.onWhole && (framing.kind === "none" || (framing.kind === "length" && rest.length >= framing.length))) {
      const length = framing.kind === "length" ? framing.length : 0;
      if (rest.length > length) throw new ProtocolError("data after the end of the response");
      this.complete(handler, () => handler.onWhole!(head, length > 0 ? rest : null));
      return undefined;
    }
    this.decoder = new BodyDecoder(framing);
    if (!handler.onHeaders(head, () => this.socket.resume())) this.socket.pause();
    if (this.decoder.done) {
      if (rest.length > 0) throw new ProtocolError("data after the end of the response");
      if (this.handler === handler) this.complete(handler, () => handler.onComplete());
      return undefined;
    }
    return rest;
  }

  private onTimeout(): void {
    if (!this.handler || this.responseDone) return;
    // Paused because the reader of the body is slow: the server is not the one silent. (A socket
    // timer fires once; it is set again.)
    if (this.socket.isPaused()) return void this.socket.setTimeout(this.readTimeoutMs);
    this.aborted = true; // a request the server may be working on is not sent again
    const what = this.head ? "body" : "headers";
    this.fail(Object.assign(new Error(`upstream sent no ${what} bytes for ${this.readTimeoutMs} ms`), { code: this.head ? "UND_ERR_BODY_TIMEOUT" : "UND_ERR_HEADERS_TIMEOUT" }));
  }

  private onEnd(): void {
    // Until-close bodies end here; for any other exchange the server hung up early.
    if (this.handler && this.decoder?.endsAtClose && !this.responseDone) {
      this.responseDone = true;
      const handler = this.handler;
      this.handler = undefined;
      handler.onComplete();
    }
    this.fail(new UpstreamClosedError("upstream closed the connection"));
  }

  /**
   * The response ended. The connection is reused only when the request was fully sent too: a
   * server that answered early (413, 401 ...) may not read the rest, so it is closed instead.
   */
  private complete(handler: ExchangeHandler, notify: () => void): void {
    this.responseDone = true;
    notify();
    if (this.gone) return;
    const head = this.head!;
    if (!this.requestDone || !head.keepAlive) {
      this.fail(new UpstreamClosedError("connection not reusable"));
      return;
    }
    // Nothing of the exchange stays reachable from an idle connection: it would outlive the
    // request in the young generation and be promoted (sidecar/memory/idle-scavenger.ts).
    this.handler = undefined;
    this.req = undefined;
    this.head = undefined;
    this.decoder = undefined;
    this.events.idle(this, head.keepAliveTimeoutMs);
  }

  /** After a 101: the socket is no longer an HTTP connection of the pool's but a raw tunnel. */
  private detach(): void {
    this.gone = true;
    this.responseDone = true;
    this.handler = undefined;
    this.req = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const socket = this.socket;
    socket.setTimeout(0);
    for (const event of ["data", "end", "error", "close", "timeout"]) socket.removeAllListeners(event);
    socket.on("error", () => {}); // the tunnel's owner handles failures through 'close'
    this.events.closed(this);
  }

  private abort(err: Error): void {
    this.aborted = true;
    this.fail(err);
  }

  /** Closes the connection; the exchange in progress (if any) gets `err`. */
  private fail(err: Error): void {
    if (this.gone) return;
    this.gone = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const handler = this.handler;
    this.handler = undefined;
    const req = this.req;
    this.req = undefined;
    // A request body still streaming has nowhere to go; let it drain rather than stall its sender.
    if (req?.body.kind === "stream" && !this.requestDone) req.body.stream.resume();
    this.socket.destroy();
    this.events.closed(this);
    if (!handler || this.responseDone) return;
    if (this.responseBytes === 0 && this.exchanges > 1 && !this.aborted && this.events.resend(req!, handler)) return;
    handler.onError(err);
  }
}
