// One HTTP/1.1 exchange over the sidecar's own keep-alive pool (sidecar/upstream/h1). Own client
// rather than undici's Pool: a bare proxy hop measured 22-25k rps against undici's 17-19k (and
// http-proxy's 10k) on the 2-core dev host, 2026-11-27 (.lab experiments, test/bench/dataplane.ts
// for the whole sidecar): undici validates, re-parses and wraps every header per request, in
// layers a proxy that already has parsed headers does not need.
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { MeshRequest, MeshResponse } from "../core/handler.js";
import type { ExchangeHandler } from "./h1/exchange.js";
import type { H1Pool } from "./h1/pool.js";
import type { ResponseHead } from "./h1/response-head.js";
import { upstreamError } from "./errors.js";

class ClientGone extends Error {
  readonly code = "UND_ERR_ABORTED";
  constructor() {
    super("response body destroyed before it ended");
  }
}

/** The response body: pulls from the connection (resume) when read, aborts the exchange when destroyed early. */
class UpstreamBody extends Readable {
  ended = false;
  constructor(
    private readonly resumeUpstream: () => void,
    private readonly abortUpstream: (err: Error) => void,
  ) {
    super();
  }
  override _read(): void {
    this.resumeUpstream();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A half-read response must not leave its connection in the pool.
    if (!this.ended) this.abortUpstream(err ?? new ClientGone());
    cb(err);
  }
}

class Exchange implements ExchangeHandler {
  private abort: ((err: Error) => void) | undefined;
  private body: UpstreamBody | undefined;
  private settled = false;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly req: MeshRequest,
    private readonly target: string,
    private readonly resolve: (res: MeshResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const signal = req.signal;
    if (!signal.aborted) {
      // A bound method, not an arrow: an arrow made here kept every exchange (and its request)
      // alive through V8's young-generation collections until a full GC (see listener/http1.ts).
      this.onAbort = this.cancelled.bind(this);
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  private cancelled(): void {
    const reason = this.req.signal.reason instanceof Error ? this.req.signal.reason : new ClientGone();
    if (this.body) this.body.destroy(reason);
    else if (this.abort) this.abort(reason);
    else this.onError(reason);
  }

  private unlisten(): void {
    if (this.onAbort) this.req.signal.removeEventListener("abort", this.onAbort);
  }

  abandoned(): boolean {
    return this.settled && !this.abort;
  }

  onStart(abort: (err: Error) => void): void {
    const signal = this.req.signal;
    this.abort = abort;
    if (signal.aborted) abort(signal.reason instanceof Error ? signal.reason : new ClientGone());
  }

  onUpgrade(head: ResponseHead, socket: Socket, rest: Buffer): void {
    if (this.settled) {
      socket.destroy();
      return;
    }
    this.settled = true;
    this.unlisten();
    const protocol = head.headers.upgrade;
    this.resolve({ status: 101, headers: head.headers, body: null, upgraded: { socket, protocol: typeof protocol === "string" ? protocol : this.req.upgrade!, head: rest } });
  }

  onWhole(head: ResponseHead, body: Buffer | null): void {
    if (this.settled) return;
    this.settled = true;
    this.unlisten();
    this.resolve({ status: head.status, headers: head.headers, body });
  }

  onHeaders(head: ResponseHead, resume: () => void): boolean {
    if (this.settled) return false;
    const body = new UpstreamBody(resume, (err) => this.abort?.(err));
    body.once("close", () => this.unlisten());
    this.body = body;
    this.settled = true;
    this.resolve({ status: head.status, headers: head.headers, body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body!.push(chunk);
  }

  onComplete(): void {
    const body = this.body!;
    body.ended = true;
    body.push(null);
  }

  onError(err: Error): void {
    if (!this.settled) {
      this.settled = true;
      this.unlisten();
      this.reject(upstreamError(err, this.req.signal, this.target));
      return;
    }
    const body = this.body;
    if (body && !body.destroyed) {
      body.ended = true; // the connection already dropped the exchange
      // After queued chunks were handed out.
      queueMicrotask(() => body.destroy(err));
    }
  }
}

export function sendH1(pool: H1Pool, req: MeshRequest, target: string): Promise<MeshResponse> {
  if (req.signal.aborted) return Promise.reject(upstreamError(req.signal.reason, req.signal, target));
  return new Promise((resolve, reject) => {
    pool.dispatch({ method: req.method, path: req.path, authority: req.authority, headers: req.headers, body: req.body, upgrade: req.upgrade }, new Exchange(req, target, resolve, reject));
  });
}
