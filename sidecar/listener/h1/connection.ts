// One downstream HTTP/1.1 connection, served by the sidecar's own codec rather than node:http
// (whose IncomingMessage/ServerResponse objects, events and header bookkeeping cost about 6 us
// per request, measured against a bare socket server on the dev host). Requests are handled one
// at a time in order: bytes of a pipelined next request wait (the socket is paused) until the
// current response is written. Per request, top to bottom: read the head, hand a MeshRequest to
// the handler while the body streams in, write the MeshResponse, then read the next head.
import { STATUS_CODES } from "node:http";
import { Readable } from "node:stream";
import type { Socket } from "node:net";
import type { MeshResponse } from "../../core/handler.js";
import { BodyDecoder } from "../../http1/body-decoder.js";
import { LAST_CHUNK, writeChunk } from "../../http1/chunked.js";
import { fieldLines, unsafeValue } from "../../http1/fields.js";
import { parseRequestHead, RequestError, type RequestHead } from "./request-head.js";
import { OWN_RESPONSE_FIELDS, responseHead } from "./response-head.js";
import { splice } from "../splice.js";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";
const ESTABLISHED = "HTTP/1.1 200 Connection Established\r\n\r\n";

export interface Http1ConnectionOptions {
  maxHeaderSize: number;
  /** Idle time allowed between requests (keep-alive), and between reads of a request body. */
  keepAliveTimeoutMs: number;
  /** Time allowed to send a whole request head (slow-header clients). */
  headersTimeoutMs: number;
  /** A parsed request; `respond` writes the answer (once), `closed` is called if the client goes away first. */
  onRequest(head: RequestHead, body: Readable | null, exchange: Exchange): void;
  /** Draining: answers carry `connection: close`. */
  draining(): boolean;
}

/** The exchange in progress, as the request handler sees it. */
export interface Exchange {
  respond(res: MeshResponse, onDone?: () => void): void;
  /**
   * Answers a CONNECT with 200 and gives the socket up: `take` gets it with the bytes the client
   * sent after its request. False (and `take` not called) if the exchange is over already.
   */
  establish(take: (socket: Socket, head: Buffer) => void): boolean;
  /** Set by the handler: called once if the client disconnects before the response finished. */
  onClientGone?: () => void;
}

/** The request body as a stream: reading resumes the socket; backpressure pauses it. */
class RequestBody extends Readable {
  constructor(private readonly resumeSocket: () => void) {
    super();
    // Destroyed with an error when the client breaks off or sends a malformed body; whoever reads
    // it sees that through its own listener, and an unread body must not crash the process.
    this.on("error", () => {});
  }
  override _read(): void {
    this.resumeSocket();
  }
}

/**
 * One request's handle on its connection. It answers that request only: a late or second
 * respond() (from a handler that outlived its request) is dropped rather than taken as the
 * answer to the next pipelined request.
 */
class RequestExchange implements Exchange {
  onClientGone?: () => void;
  constructor(private readonly conn: Http1Connection) {}
  respond(res: MeshResponse, onDone?: () => void): void {
    this.conn.respondTo(this, res, onDone);
  }
  establish(take: (socket: Socket, head: Buffer) => void): boolean {
    return this.conn.establish(this, take);
  }
}

export class Http1Connection {
  private exchange: RequestExchange | undefined;
  private pending: Buffer | undefined;
  private head: RequestHead | undefined;
  private decoder: BodyDecoder | undefined;
  private body: RequestBody | undefined;
  /** The current request's body has been read to its end (or it had none). */
  private requestDone = false;
  /** A response is being written (or has been) for the current request. */
  private responding = false;
  private headStartedAt = 0;
  private gone = false;
  /** The client half-closed: no more requests will come. */
  private peerEnded = false;

  constructor(
    readonly socket: Socket,
    private readonly opts: Http1ConnectionOptions,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
    // A client may half-close (FIN) once it has sent its requests and still read the answers, as
    // node:http and Envoy allow: our side stays open until they are written (allowHalfOpen), then
    // closes. A FIN in the middle of a request body cuts that request off.
    socket.allowHalfOpen = true;
    socket.on("end", () => {
      this.peerEnded = true;
      // Idle or mid-head: nothing more can come. Waiting for a drain: the kept requests go first.
      if (this.head ? !this.requestDone : !this.waitingForDrain) this.close();
    });
    // A socket's timer fires once and is not re-armed by later activity, so one that fires while
    // a request is in progress is set again; else a connection idle after a slow exchange stays open.
    // A client silent that long in the middle of its request body (the socket not paused by us)
    // is gone too, as node:http's requestTimeout and nginx's client_body_timeout have it.
    socket.on("timeout", () => {
      if (!this.head || (!this.requestDone && !socket.isPaused())) this.close();
      else socket.setTimeout(opts.keepAliveTimeoutMs);
    });
    socket.setTimeout(opts.keepAliveTimeoutMs);
  }

  /** No request in progress and nothing buffered: safe to close now (drain). */
  get idle(): boolean {
    return !this.head && !this.pending;
  }

  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    if (this.head && !this.responseFinished) {
      this.body?.destroy(Object.assign(new Error("client closed the connection"), { code: "ECONNRESET" }));
      this.clientGone();
    }
  }

  private responseFinished = false;

  /** Tells the current request's handler, once, that its client went away. */
  private clientGone(): void {
    const gone = this.exchange?.onClientGone;
    if (this.exchange) this.exchange.onClientGone = undefined;
    gone?.();
  }

  private onData(chunk: Buffer): void {
    if (this.gone) return;
    if (this.head && this.requestDone) {
      // Next pipelined request: keep it until this response is out.
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      this.socket.pause();
      return;
    }
    try {
      this.consume(chunk);
    } catch (err) {
      this.refuse(err);
    }
  }

  /**
   * Reads what `chunk` (after bytes kept from earlier reads) holds: the current request's body,
   * then request heads, as long as each request is answered (a synchronous answer lets the
   * next pipelined one start at once). Bytes for a request that must wait are kept.
   */
  private consume(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buf.length > 0 && !this.gone) {
      if (this.head) {
        if (!this.requestDone) buf = this.feedBody(buf);
        if (buf.length === 0) return;
        if (this.head) {
          this.pending = buf;
          this.socket.pause();
          return;
        }
        continue;
      }
      if (this.socket.writableNeedDrain) {
        // A client pipelining requests without reading the answers: take no more requests until
        // it does (as node:http), or its cheap requests would pile answers up in our memory.
        this.pending = buf;
        this.waitForDrain();
        return;
      }
      // Tolerate the CRLFs some clients send between requests (RFC 9112 §2.2).
      let start = 0;
      while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
      const end = buf.indexOf(CRLFCRLF, start);
      if (end < 0) {
        // The limit is on the head without its blank line, of which up to 3 bytes may be here.
        if (buf.length - start > this.opts.maxHeaderSize + 3) throw new RequestError(431, "request header too large");
        if (this.headStartedAt === 0) this.headStartedAt = Date.now();
        else if (Date.now() - this.headStartedAt > this.opts.headersTimeoutMs) throw new RequestError(408, "request head took too long");
        if (start < buf.length) this.pending = buf.subarray(start);
        return;
      }
      if (end - start > this.opts.maxHeaderSize) throw new RequestError(431, "request header too large");
      this.headStartedAt = 0;
      const head = parseRequestHead(buf.toString("latin1", start, end));
      buf = buf.subarray(end + 4);
      this.begin(head);
    }
  }

  private begin(head: RequestHead): void {
    this.head = head;
    this.responding = false;
    this.responseFinished = false;
    const exchange = (this.exchange = new RequestExchange(this));
    if (head.framing.kind === "none") {
      this.requestDone = true;
      this.body = undefined;
      this.decoder = undefined;
      this.opts.onRequest(head, null, exchange);
      return;
    }
    this.requestDone = false;
    this.decoder = new BodyDecoder(head.framing);
    const socket = this.socket;
    this.body = new RequestBody(() => {
      if (!this.requestDone) socket.resume();
    });
    if (head.expectContinue && !head.http10) socket.write(CONTINUE, "latin1");
    this.opts.onRequest(head, this.body, exchange);
  }

  /** Feeds body bytes to the current request; returns the bytes after its end. */
  private feedBody(buf: Buffer): Buffer {
    const body = this.body!;
    let r;
    try {
      r = this.decoder!.decode(buf, (data) => {
        if (!body.push(data)) this.socket.pause();
      });
    } catch (err) {
      throw new RequestError(400, (err as Error).message);
    }
    if (r.done) {
      this.requestDone = true;
      body.push(null);
    }
    return buf.subarray(r.consumed);
  }

  /** The current request's exchange answers (through RequestExchange.respond). */
  respondTo(exchange: RequestExchange, res: MeshResponse, onDone?: () => void): void {
    if (this.gone || this.responding || exchange !== this.exchange) {
      if (res.body && !Buffer.isBuffer(res.body)) res.body.destroy();
      return;
    }
    this.responding = true;
    if (res.upgraded) {
      this.tunnel(res, res.upgraded, onDone);
      return;
    }
    const head = this.head!;
    const status = res.status;
    const bodiless = head.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
    // An answer before the request body was read (413, 401 ...) leaves unread bytes that must
    // never be parsed as a request: the connection closes after it, and the client is told so.
    // So does a refused CONNECT: what follows it may be the client's first tunnel bytes.
    const closeAfter = !head.keepAlive || this.opts.draining() || !this.requestDone || head.method === "CONNECT";
    const body = res.body;
    const stream = body !== null && !Buffer.isBuffer(body);
    let text;
    try {
      text = responseHead(status, res.headers, Buffer.isBuffer(body) ? body.length : 0, { stream, bodiless, http10: head.http10, close: closeAfter });
    } catch {
      if (stream) body.destroy();
      text = responseHead(502, { "x-tsmesh-error": "TSMESH_ERR_UPSTREAM" }, 0, { stream: false, bodiless: false, http10: head.http10, close: true });
      this.socket.write(text.text, "latin1", onDone);
      this.finish(true);
      return;
    }
    const socket = this.socket;
    if (!stream || bodiless) {
      if (stream) body.destroy(); // nothing of it may be sent
      // onDone once the bytes are handed to the kernel: a drain that then closes the socket
      // must not cut this answer off.
      if (body !== null && !bodiless && (body as Buffer).length > 0) {
        socket.cork();
        socket.write(text.text, "latin1");
        socket.write(body as Buffer, onDone);
        socket.uncork();
      } else socket.write(text.text, "latin1", onDone);
      this.finish(closeAfter || text.framing === "close");
      return;
    }
    socket.write(text.text, "latin1");
    const chunked = text.framing === "chunked";
    // A stream must deliver exactly the Content-Length it announced (a middleware may have changed
    // the body): more or fewer bytes would make the client read the next response out of step.
    let left = text.framing === "length" ? text.length : -1;
    body.on("data", (chunk: Buffer) => {
      if (this.gone) return;
      if (left >= 0) {
        if (chunk.length > left) {
          // The announced length is a whole answer: send it, drop the excess, close (as nginx).
          body.destroy();
          socket.write(chunk.subarray(0, left), onDone);
          this.finish(true);
          return;
        }
        left -= chunk.length;
      }
      const ok = chunked ? writeChunk(socket, chunk) : socket.write(chunk);
      if (!ok) {
        body.pause();
        socket.once("drain", () => body.resume());
      }
    });
    body.once("error", () => this.close()); // cut short: the client must not take it as complete
    body.once("end", () => {
      if (this.gone) return;
      if (left > 0) return this.close(); // cut short: the client must see it unfinished
      socket.write(chunked ? LAST_CHUNK : "", "latin1", onDone);
      this.finish(closeAfter || text.framing === "close");
    });
  }

  /**
   * 101 from upstream to an upgrade request (WebSocket): answer it, then the connection is a byte
   * pipe to the upstream's socket in both directions, half-closes passed on, until both close.
   */
  private tunnel(res: MeshResponse, up: NonNullable<MeshResponse["upgraded"]>, onDone?: () => void): void {
    const socket = this.detach();
    let text = "HTTP/1.1 101 Switching Protocols\r\n";
    try {
      text += fieldLines(res.headers, OWN_RESPONSE_FIELDS, (message) => new Error(message));
      if (unsafeValue(up.protocol)) throw new Error("invalid upgrade protocol");
    } catch {
      up.socket.destroy();
      socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", "latin1");
      onDone?.();
      return;
    }
    socket.write(`${text}connection: upgrade\r\nupgrade: ${up.protocol}\r\n\r\n`, "latin1");
    if (up.head.length > 0) socket.write(up.head);
    const early = this.pending; // bytes the client sent right after its request
    this.pending = undefined;
    splice(socket, up.socket, early, onDone);
  }

  /** The current exchange answers a CONNECT: 200, then the socket is the tunnel's (see Exchange). */
  establish(exchange: RequestExchange, take: (socket: Socket, head: Buffer) => void): boolean {
    if (this.gone || this.responding || exchange !== this.exchange) return false;
    this.responding = true;
    const socket = this.detach();
    socket.write(ESTABLISHED, "latin1");
    const head = this.pending ?? Buffer.alloc(0);
    this.pending = undefined;
    take(socket, head);
    return true;
  }

  /** No more HTTP on this connection: its socket is left to a tunnel (paused, no timeout). */
  private detach(): Socket {
    this.gone = true;
    this.responseFinished = true;
    const socket = this.socket;
    for (const event of ["data", "end", "timeout"]) socket.removeAllListeners(event);
    socket.setTimeout(0);
    return socket;
  }

  /** The response is written: next request, or close. */
  private finish(close: boolean): void {
    this.responseFinished = true;
    // An answer given before the request body was read leaves the connection out of step.
    if (close || !this.requestDone) {
      this.linger();
      this.body?.destroy();
      return;
    }
    this.head = undefined;
    this.body = undefined;
    this.decoder = undefined;
    this.exchange = undefined;
    this.next();
  }

  /** Reads the next request: from the bytes kept, then from the socket. */
  private next(): void {
    if (this.gone || this.head) return;
    if (this.socket.writableNeedDrain) return this.waitForDrain();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending) {
      try {
        this.consume(Buffer.alloc(0));
      } catch (err) {
        this.refuse(err);
      }
    }
    // Half-closed and every request it sent is answered: close our side too.
    if (this.peerEnded && !this.head && !this.gone) {
      this.gone = true;
      this.socket.end();
    }
  }

  private waitingForDrain = false;

  private waitForDrain(): void {
    this.socket.pause();
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    this.socket.once("drain", () => {
      this.waitingForDrain = false;
      this.next();
    });
  }

  /**
   * Ends our side after a last answer, still reading (and dropping) what the client sends until
   * it closes: destroying a socket with unread bytes resets it, which can lose the answer; left
   * paused, the client's close is never seen and the socket stays open. At most the keep-alive
   * timeout in all, however long the client keeps sending (as nginx's lingering_time).
   */
  private linger(): void {
    this.gone = true;
    const socket = this.socket;
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), this.opts.keepAliveTimeoutMs);
    socket.once("close", () => clearTimeout(timer));
  }

  /** A request the listener will not process: answer its status and close. */
  private refuse(err: unknown): void {
    if (this.gone) return;
    const status = err instanceof RequestError ? err.status : 400;
    if (!this.responding) {
      const body = Buffer.from(JSON.stringify({ error: (err as Error).message, code: "TSMESH_ERR_BAD_REQUEST" }) + "\n");
      this.socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-tsmesh-error: TSMESH_ERR_BAD_REQUEST\r\nconnection: close\r\n\r\n`, "latin1");
      this.socket.write(body);
    }
    this.linger();
    this.body?.destroy(err as Error);
    if (this.head && !this.responseFinished) {
      this.clientGone();
    }
  }
}
