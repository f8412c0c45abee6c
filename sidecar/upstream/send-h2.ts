// One HTTP/2 exchange on a pooled session (gRPC and h2 traffic): response headers, body stream
// and trailers are passed through as they come. A stream the peer never processed (refused by
// its GOAWAY or with REFUSED_STREAM, RFC 9113 §8.7) is sent once more on a fresh session,
// whatever the route's retry policy: nothing happened upstream, so this is not a retry.
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { HeaderMap, MeshRequest, MeshResponse } from "../core/handler.js";
import { upstreamError } from "./errors.js";
import { connectFailureOf, goawayLastStreamId, type H2Session } from "./h2-sessions.js";

const END_STREAM = 0x1;
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;
/** session.request() on a session that is closing (GOAWAY) or gone. */
const SESSION_GONE = new Set(["ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_INVALID_SESSION"]);

/**
 * The stream failed before the peer processed any of it; `reason` is what to report if it is not
 * sent again. `bodyRead`: a streamed request body may already have been read into the stream.
 */
class Unprocessed extends Error {
  constructor(
    readonly reason: unknown,
    readonly bodyRead: boolean,
  ) {
    super("stream not processed by the peer");
  }
}

function stripPseudo(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 58) continue;
    const v = h[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The peer never saw the stream, refused it, or its GOAWAY names a last stream below it. */
function unprocessed(session: ClientHttp2Session, stream: ClientHttp2Stream): boolean {
  if (stream.rstCode === NGHTTP2_REFUSED_STREAM) return true;
  const last = goawayLastStreamId(session);
  return last !== undefined && (stream.id === undefined || stream.id > last);
}

/**
 * Sends `req` on `h2`'s session. `onSession` sees each session used (the plaintext client asks
 * whether the server spoke HTTP/2 at all).
 */
export async function sendH2(h2: H2Session, req: MeshRequest, scheme: "http" | "https", target: string, onSession?: (s: ClientHttp2Session) => void): Promise<MeshResponse> {
  for (let resend = true; ; resend = false) {
    try {
      const session = h2.get();
      onSession?.(session);
      return await exchange(session, req, scheme);
    } catch (err) {
      if (!(err instanceof Unprocessed)) throw upstreamError(err, req.signal, target);
      // A streamed body read by the first attempt cannot be sent again.
      const replayable = req.body.kind !== "stream" || !err.bodyRead;
      if (!resend || !replayable || req.signal.aborted) throw upstreamError(err.reason, req.signal, target);
    }
  }
}

function exchange(session: ClientHttp2Session, req: MeshRequest, scheme: "http" | "https"): Promise<MeshResponse> {
  const headers: OutgoingHttpHeaders = { ...req.headers };
  headers[":method"] = req.method;
  headers[":path"] = req.path;
  headers[":authority"] = req.authority;
  headers[":scheme"] = scheme;
  const empty = req.body.kind === "empty";
  return new Promise((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: empty });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      reject(SESSION_GONE.has(code) ? new Unprocessed(err, false) : err);
      return;
    }
    // Cancelled (client gone, deadline): reset the stream; the reason surfaces via upstreamError.
    const signal = req.signal;
    const h2stream = stream;
    const onAbort = () => h2stream.close(NGHTTP2_CANCEL);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      stream.once("close", () => signal.removeEventListener("abort", onAbort));
    }
    let answered = false;
    const failed = (err: Error) => {
      const cause = connectFailureOf(session) ?? err;
      reject(unprocessed(session, stream) ? new Unprocessed(cause, true) : cause);
    };
    // Errors after the response was handed over surface through the body stream's consumer.
    stream.on("error", (err) => {
      if (answered) return;
      answered = true;
      failed(err);
    });
    stream.once("close", () => {
      if (answered) return;
      answered = true;
      const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
      failed(Object.assign(new Error(refused ? "REFUSED_STREAM" : "stream closed"), { code: refused ? "ERR_HTTP2_STREAM_ERROR" : "ECONNRESET" }));
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
      body.stream.once("error", () => stream.close(NGHTTP2_CANCEL));
      body.stream.pipe(stream);
    }
  });
}
