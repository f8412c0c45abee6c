// One HTTP/2 exchange on a shared session (gRPC and h2 traffic): response headers, body stream
// and trailers are passed through as they come.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { HeaderMap, MeshRequest, MeshResponse } from "../core/handler.js";
import { upstreamError } from "./errors.js";
import { connectFailureOf } from "./h2-sessions.js";

const END_STREAM = 0x1;
const { NGHTTP2_REFUSED_STREAM } = http2.constants;

function stripPseudo(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 58) continue;
    const v = h[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function sendH2(session: ClientHttp2Session, req: MeshRequest, scheme: "http" | "https", target: string): Promise<MeshResponse> {
  const headers: OutgoingHttpHeaders = { ...req.headers };
  headers[":method"] = req.method;
  headers[":path"] = req.path;
  headers[":authority"] = req.authority;
  headers[":scheme"] = scheme;
  const empty = req.body.kind === "empty";
  return new Promise((resolve, reject) => {
    let stream;
    try {
      stream = session.request(headers, { endStream: empty });
    } catch (err) {
      reject(upstreamError(err, req.signal, target));
      return;
    }
    // Cancelled (client gone, deadline): reset the stream; the reason surfaces via upstreamError.
    const signal = req.signal;
    const h2stream = stream;
    const onAbort = () => h2stream.close(http2.constants.NGHTTP2_CANCEL);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      stream.once("close", () => signal.removeEventListener("abort", onAbort));
    }
    let answered = false;
    // Errors after the response was handed over surface through the body stream's consumer.
    stream.on("error", (err) => {
      if (!answered) {
        answered = true;
        reject(upstreamError(connectFailureOf(session) ?? err, req.signal, target));
      }
    });
    stream.once("close", () => {
      if (answered) return;
      answered = true;
      const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
      const failure = connectFailureOf(session);
      if (failure) return reject(upstreamError(failure, req.signal, target));
      reject(upstreamError(Object.assign(new Error(refused ? "REFUSED_STREAM" : "stream closed"), { code: refused ? "ERR_HTTP2_STREAM_ERROR" : "ECONNRESET" }), req.signal, target));
    });
    stream.once("response", (h, flags) => {
      answered = true;
      const status = Number(h[":status"]);
      if (flags & END_STREAM) {
        resolve({ status, headers: stripPseudo(h), body: null });
        return;
      }
      const trailers = new Promise<HeaderMap>((done) => {
        stream.once("trailers", (t) => done(stripPseudo(t)));
        stream.once("close", () => done({}));
      });
      resolve({ status, headers: stripPseudo(h), body: stream, trailers });
    });
    const body = req.body;
    if (body.kind === "buffered") stream.end(body.data);
    else if (body.kind === "stream") {
      body.stream.once("error", () => stream.close(http2.constants.NGHTTP2_CANCEL));
      body.stream.pipe(stream);
    }
  });
}
