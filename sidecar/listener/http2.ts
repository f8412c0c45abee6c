// HTTP/2 downstream adapter (h2c from the app, h2 over mTLS from a peer): stream -> MeshRequest,
// MeshResponse -> respond + body + trailers (gRPC status travels in trailers). :path is normalised
// here as the HTTP/1.1 target is (request-path.ts).
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { dropBody, MeshError, type HeaderMap, type MeshRequest, type MeshResponse } from "../core/handler.js";
import { Cancellation } from "../core/cancel.js";
import { isValidAuthority } from "./authority.js";
import { newContext } from "./context.js";
import { errorReply } from "./errors.js";
import { endToEndHeaders, responseHeaders } from "./headers.js";
import type { DownstreamOptions } from "./http1.js";
import { normalizeRequestPath, pathError } from "./request-path.js";
import { noteClientReset } from "./reset-flood.js";

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;
const END_STREAM = 0x1;
const CLIENT_GONE = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "downstream closed the stream", {}, "reset");
/** Set on streams this side resets, so only the client's resets count against its connection. */
const OWN_RESET = Symbol("tsmesh.ownReset");
type Tagged = ServerHttp2Stream & { [OWN_RESET]?: true };

function reset(stream: ServerHttp2Stream): void {
  (stream as Tagged)[OWN_RESET] = true;
  stream.close(NGHTTP2_INTERNAL_ERROR);
}

/** gRPC status for a mesh error status, sent as a trailers-only response (Envoy does the same). */
function grpcStatusOf(status: number): number {
  if (status === 400) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return 12; // UNIMPLEMENTED
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 504) return 4; // DEADLINE_EXCEEDED
  if (status === 502 || status === 503) return 14; // UNAVAILABLE
  return 2; // UNKNOWN
}

/**
 * `acceptsTrailers`: gRPC, or the client sent `te: trailers`. Only then does the stream wait for
 * the upstream's trailers (an extra frame and a wait for the upstream stream to close); other
 * clients get the response ended with its last DATA frame, and trailers, if any, are dropped
 * (RFC 9110 §6.5.2 lets a recipient discard them).
 */
function send(stream: ServerHttp2Stream, out: MeshResponse, acceptsTrailers: boolean): void {
  const headers: Record<string, string | string[] | number> = responseHeaders(out.headers);
  headers[":status"] = out.status;
  const trailers = acceptsTrailers ? out.trailers : undefined;
  const body = out.body;
  stream.respond(headers, { endStream: !body && !trailers, waitForTrailers: trailers !== undefined });
  if (trailers) {
    stream.once("wantTrailers", () => {
      trailers.then(
        (t) => {
          if (!stream.destroyed) stream.sendTrailers(responseHeaders(t) as Record<string, string>);
        },
        () => reset(stream),
      );
    });
  }
  if (Buffer.isBuffer(body)) stream.end(body);
  else if (body) {
    body.on("error", () => {
      if (!stream.destroyed) reset(stream);
    });
    stream.once("close", () => {
      if (!body.readableEnded) body.destroy();
    });
    // By hand rather than pipe() (about nine listeners per response): the hot path.
    body.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk)) {
        body.pause();
        stream.once("drain", () => body.resume());
      }
    });
    body.once("end", () => stream.end());
  } else if (trailers) stream.end();
}

function fail(stream: ServerHttp2Stream, err: unknown, grpc: boolean): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    reset(stream);
    return;
  }
  const reply = errorReply(err);
  if (grpc) {
    const e = err instanceof MeshError ? err : undefined;
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(grpcStatusOf(reply.status)),
        "grpc-message": encodeURIComponent(e?.message ?? "upstream request failed"),
        "x-tsmesh-error": String(reply.headers["x-tsmesh-error"]),
        ...(e?.headers ?? {}),
      },
      { endStream: true },
    );
    return;
  }
  stream.respond({ ...reply.headers, ":status": reply.status } as Record<string, string | number>);
  stream.end(reply.body);
}

export function http2StreamListener(
  opts: DownstreamOptions,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void {
  const { handler, inflight, peerOf, onError, tunnelAuthorityOf } = opts;

  /**
   * Runs on the next turn of the event loop, once the rest of what was read from the socket has
   * been parsed: a stream the client reset right after its HEADERS (rapid reset) is closed by
   * then and never reaches the route, the balancer or the upstream.
   */
  function dispatch(stream: ServerHttp2Stream, meshReq: MeshRequest, grpc: boolean, acceptsTrailers: boolean): void {
    if (stream.closed || stream.destroyed) return;
    const ctx = newContext(peerOf?.(stream.session?.socket ?? {}));
    handler(meshReq, ctx).then(
      (out) => {
        if (stream.destroyed || stream.closed) {
          dropBody(out);
          return;
        }
        send(stream, out, acceptsTrailers);
      },
      (err: unknown) => {
        onError?.(err, meshReq);
        fail(stream, err, grpc);
      },
    );
  }

  return (stream, headers, flags) => {
    stream.on("error", () => {});
    // A stream that names no authority, on a connection tunnelled by CONNECT: the tunnel's.
    const authority = (headers[":authority"] ?? headers.host ?? (tunnelAuthorityOf && stream.session ? tunnelAuthorityOf(stream.session.socket) : undefined) ?? "") as string;
    const contentType = headers["content-type"];
    const grpc = typeof contentType === "string" && contentType.startsWith("application/grpc");
    const te = headers.te;
    const acceptsTrailers = grpc || (typeof te === "string" && te.includes("trailers"));
    if (authority === "") {
      fail(stream, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request has no :authority"), grpc);
      return;
    }
    if (!isValidAuthority(authority)) {
      fail(stream, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "invalid :authority"), grpc);
      return;
    }
    const path = normalizeRequestPath((headers[":path"] as string | undefined) ?? "/", opts.escapedSlashes());
    if (!path.ok) {
      fail(stream, pathError(path), grpc);
      return;
    }
    inflight.start();
    const controller = new Cancellation();
    // stream.session is gone by the time the stream's close event runs.
    const session = stream.session;
    let finished = false;
    stream.once("close", () => {
      inflight.end();
      // aborted: reset before this side ended its response. Node ends the writable side as it
      // closes a reset stream, so "finish" alone does not tell a reset from a finished response.
      const aborted = stream.aborted;
      if (finished && !aborted) return;
      controller.abort(CLIENT_GONE);
      if (aborted && session && !(stream as Tagged)[OWN_RESET]) noteClientReset(session);
    });
    stream.once("finish", () => {
      finished = true;
    });
    const cl = headers["content-length"];
    const meshReq: MeshRequest = {
      method: (headers[":method"] as string) ?? "GET",
      authority,
      path: path.path,
      headers: endToEndHeaders(headers as HeaderMap),
      body: flags & END_STREAM ? { kind: "empty" } : { kind: "stream", stream, length: cl === undefined ? undefined : Number(cl) },
      protocol: "h2",
      signal: controller.signal,
    };
    setImmediate(dispatch, stream, meshReq, grpc, acceptsTrailers);
  };
}
