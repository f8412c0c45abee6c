// What the HTTP/1.1 client is given (a request) and how it reports back (handler callbacks, in
// order: onStart, onHeaders, onData*, onComplete | onError), as undici's dispatch handlers do.
import type { Socket } from "node:net";
import type { HeaderMap, RequestBody } from "../../core/handler.js";
import type { ResponseHead } from "./response-head.js";

export interface H1Request {
  method: string;
  path: string;
  /** Sent as the Host header. */
  authority: string;
  headers: HeaderMap;
  body: RequestBody;
  /** Protocol to switch to (sent as `Connection: upgrade` + `Upgrade`). */
  upgrade?: string;
}

export interface ExchangeHandler {
  /** True when the exchange was given up (onError reported) before it got a connection. */
  abandoned?(): boolean;
  /** The exchange has a connection; `abort` closes it and ends the exchange with `err`. */
  onStart?(abort: (err: Error) => void): void;
  /**
   * The whole response arrived with its head (no body, or a Content-Length body in the same read):
   * called instead of onHeaders/onData/onComplete. Without it, every body is streamed.
   */
  onWhole?(head: ResponseHead, body: Buffer | null): void;
  /**
   * 101 to an upgrade request: the connection leaves the pool and is the caller's, as a raw
   * tunnel; `rest` holds bytes the server already sent after the head.
   */
  onUpgrade?(head: ResponseHead, socket: Socket, rest: Buffer): void;
  /** Final (non-1xx) response head. Return false to pause reading until `resume` is called. */
  onHeaders(head: ResponseHead, resume: () => void): boolean;
  /** Body bytes; return false to pause reading until `resume` is called. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Connection failure, protocol error or abort; after onHeaders it means the body was cut short. */
  onError(err: Error): void;
}
