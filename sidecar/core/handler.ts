// The data path as a stack of layers (linkerd2-proxy / tower style): every concern (route, retry,
// timeout, circuit breaker, fault, authz, tracing, metrics) is a Middleware wrapping the next
// Handler; listeners build their stack explicitly with compose().
import type { Duplex, Readable } from "node:stream";
import type { CancelSignal } from "./cancel.js";
import type { DestinationPolicySpec } from "../../shared/schema/destination-policy.js";
import type { RouteRule } from "../../shared/schema/http-route.js";

export type HeaderMap = Record<string, string | string[]>;

/** A request body either held in memory (replayable: retries) or streamed through once. */
export type RequestBody =
  | { kind: "empty" }
  | { kind: "buffered"; data: Buffer }
  | { kind: "stream"; stream: Readable; length?: number };

export interface MeshRequest {
  method: string;
  /** host[:port] the app addressed (Host header, :authority or absolute URI). */
  authority: string;
  /** Path in normal form (sidecar/listener/request-path.ts), then the query as sent. */
  path: string;
  /** Lower-case names, hop-by-hop headers already removed. */
  headers: HeaderMap;
  body: RequestBody;
  protocol: "http/1.1" | "h2";
  /** Aborted when the downstream client goes away. */
  signal: CancelSignal;
  /** HTTP/1.1 protocol upgrade asked for (`Upgrade: websocket` with `Connection: upgrade`). */
  upgrade?: string;
}

export interface MeshResponse {
  status: number;
  headers: HeaderMap;
  /**
   * Null for bodiless responses; a Buffer when the whole body is already in memory (a small
   * response that came in one read, a local reply): no stream machinery per request.
   */
  body: Readable | Buffer | null;
  /** HTTP/2 trailers (gRPC status), resolved when the body ends. */
  trailers?: Promise<HeaderMap>;
  /** After a 101 to an upgrade request: the upstream connection, now a raw tunnel. */
  upgraded?: { socket: Duplex; protocol: string; head: Buffer };
}

/** Routing levels (linkerd2-proxy): logical service -> concrete backend -> one endpoint. */
export interface Endpoint {
  /** "host:port" of the peer sidecar's inbound listener. */
  address: string;
  host: string;
  port: number;
  labels: Record<string, string>;
  /** SPIFFE ID the peer must present. */
  identity: string;
}

/** Per-request state the layers share; each layer reads only what it needs. */
export interface RequestContext {
  /** Unique per request; also the access-log correlation key. */
  requestId: string;
  startedAt: bigint;
  /** Logical destination (service name) chosen by routing. */
  logical?: string;
  /** Route name "<HTTPRoute name>#<rule index>" for metrics and logs. */
  route?: string;
  /** The matched HTTPRoute rule (timeout, retry, fault) when one matched. */
  rule?: RouteRule;
  /** DestinationPolicy of the logical/concrete service, when one exists. */
  destination?: DestinationPolicySpec;
  /** Concrete backend (service/subset) chosen by the weighted split. */
  concrete?: string;
  /** Endpoint the current attempt went to. */
  endpoint?: Endpoint;
  /** 0 for the first try, 1.. for retries. */
  attempt: number;
  /** Endpoints that already failed for this request, avoided by the load balancer on retry. */
  failedEndpoints: Set<string>;
  /** How many endpoints the balancer chose ctx.endpoint from (set per attempt). */
  endpointCount?: number;
  /** Verified SPIFFE ID of the downstream peer (inbound only). */
  peerIdentity?: string;
  /** Flags layers set for observability (retries count, overflow, fault injected...). */
  annotations: Record<string, string | number | boolean>;
}

export type Handler = (req: MeshRequest, ctx: RequestContext) => Promise<MeshResponse>;
export type Middleware = (next: Handler) => Handler;

/** compose(a, b, c)(inner) === a(b(c(inner))): the first layer sees the request first. */
export function compose(...layers: Middleware[]): (inner: Handler) => Handler {
  return (inner) => layers.reduceRight((next, layer) => layer(next), inner);
}

/**
 * next(req, ctx) as a promise even when a layer throws synchronously: for layers that chain with
 * .then() instead of async/await (one promise and continuation less per request).
 */
export function invoke(next: Handler, req: MeshRequest, ctx: RequestContext): Promise<MeshResponse> {
  try {
    return next(req, ctx);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The response body as a stream, or undefined when it is absent or already complete in memory. */
export function bodyStream(res: MeshResponse): Readable | undefined {
  const b = res.body;
  return b === null || Buffer.isBuffer(b) ? undefined : b;
}

/** Gives up on a response nobody will read: a stream body or an upgraded tunnel is destroyed. */
export function dropBody(res: MeshResponse): void {
  bodyStream(res)?.destroy();
  res.upgraded?.socket.destroy();
}

/** Error a layer throws to make the listener answer with a specific status (e.g. 503 overflow). */
export class MeshError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: HeaderMap = {},
    /** What kind of failure for retry conditions: connect-failure, reset, refused-stream, timeout. */
    readonly failure?: "connect-failure" | "reset" | "refused-stream" | "timeout" | "overflow",
  ) {
    super(message);
  }
}
