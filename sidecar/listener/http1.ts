// HTTP/1.1 downstream adapter: IncomingMessage -> MeshRequest, MeshResponse -> ServerResponse.
// Accepts origin-form with Host and absolute-form (`GET http://svc:80/path`, what HTTP_PROXY
// clients send).
import type { IncomingMessage, ServerResponse } from "node:http";
import { dropBody, MeshError, type Handler, type MeshRequest, type MeshResponse, type RequestBody } from "../core/handler.js";
import { Cancellation } from "../core/cancel.js";
import { newContext } from "./context.js";
import { errorReply } from "./errors.js";
import { endToEndHeaders, responseHeaders } from "./headers.js";
import type { InFlight } from "./tracker.js";

export interface DownstreamOptions {
  handler: Handler;
  inflight: InFlight;
  /** Verified peer SPIFFE ID of the connection a request came on (inbound mTLS). */
  peerOf?: (socket: object) => string | undefined;
  draining: () => boolean;
  onError?: (err: unknown, req: MeshRequest) => void;
}

const ABSOLUTE = /^https?:\/\/([^/?#]*)([^#]*)/i;

const CLIENT_GONE = new MeshError(499, "TSMESH_ERR_CLIENT_CLOSED", "downstream closed the request", {}, "reset");

function requestBody(req: IncomingMessage): RequestBody {
  const cl = req.headers["content-length"];
  if (cl !== undefined) return cl === "0" ? { kind: "empty" } : { kind: "stream", stream: req, length: Number(cl) };
  if (req.headers["transfer-encoding"] !== undefined) return { kind: "stream", stream: req };
  return { kind: "empty" };
}

function send(res: ServerResponse, out: MeshResponse, draining: boolean): void {
  const headers = responseHeaders(out.headers);
  if (draining) headers.connection = "close";
  res.writeHead(out.status, headers);
  const body = out.body;
  if (!body) {
    res.end();
    return;
  }
  if (Buffer.isBuffer(body)) {
    res.end(body); // head and body in one write
    return;
  }
  // By hand rather than pipe() (about nine listeners added and removed per response) or
  // pipeline() (an AbortController per call): the hot path. A gone client is handled by the
  // caller's 'close' listener, which destroys the body.
  body.on("error", () => res.destroy());
  body.on("data", (chunk: Buffer) => {
    if (!res.write(chunk)) {
      body.pause();
      res.once("drain", () => body.resume());
    }
  });
  body.once("end", () => res.end());
}

function fail(res: ServerResponse, err: unknown, draining: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const reply = errorReply(err);
  if (draining) reply.headers.connection = "close";
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

export function http1Listener(opts: DownstreamOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { handler, inflight, peerOf, draining, onError } = opts;
  return (req, res) => {
    let path = req.url ?? "/";
    let authority = req.headers.host ?? "";
    if (path.charCodeAt(0) !== 47 /* "/" */) {
      const m = ABSOLUTE.exec(path);
      if (!m || m[1] === "") {
        fail(res, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request target must be a path or an absolute http URI"), draining());
        return;
      }
      authority = m[1]!;
      path = m[2] || "/";
      if (path.charCodeAt(0) !== 47) path = "/" + path;
    }
    if (authority === "") {
      fail(res, new MeshError(400, "TSMESH_ERR_BAD_REQUEST", "request has no Host header"), draining());
      return;
    }
    inflight.start();
    const controller = new Cancellation();
    res.once("close", () => {
      inflight.end();
      if (!res.writableFinished) {
        controller.abort(CLIENT_GONE);
        if (upstreamBody) dropBody(upstreamBody);
      }
    });
    let upstreamBody: MeshResponse | undefined;
    const meshReq: MeshRequest = {
      method: req.method ?? "GET",
      authority,
      path,
      headers: endToEndHeaders(req.headers),
      body: requestBody(req),
      protocol: "http/1.1",
      signal: controller.signal,
    };
    const ctx = newContext(peerOf?.(req.socket));
    handler(meshReq, ctx).then(
      (out) => {
        if (res.destroyed) {
          dropBody(out);
          return;
        }
        upstreamBody = out;
        send(res, out, draining());
      },
      (err: unknown) => {
        onError?.(err, meshReq);
        fail(res, err, draining());
      },
    );
  };
}
