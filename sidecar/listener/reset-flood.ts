// HTTP/2 rapid reset (CVE-2023-44487): a client opens streams and resets them at once, so the
// server starts work it never gets to finish. Streams the client resets before their response
// is done are counted per connection in a token bucket; once it is empty the connection gets
// GOAWAY(ENHANCE_YOUR_CALM) and is closed. nghttp2 (node:http2) has its own limit, 1000 resets
// then 33 a second, answered with GOAWAY(INTERNAL_ERROR); this one is lower at every moment so
// it fires first, with the code that says what happened.
import http2, { type Http2Session } from "node:http2";

/** Resets a connection may make at once... */
export const RESET_BURST = 100;
/** ...and per second after that (nghttp2's rate). */
export const RESETS_PER_SECOND = 33;

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const BUCKET = Symbol("tsmesh.resetBucket");

interface Bucket {
  tokens: number;
  at: number;
}

type Tagged = Http2Session & { [BUCKET]?: Bucket };

/** Takes one token for a stream the client reset; closes the connection when none is left. */
export function noteClientReset(session: Http2Session, now = performance.now()): void {
  if (session.destroyed) return;
  const tagged = session as Tagged;
  const b = (tagged[BUCKET] ??= { tokens: RESET_BURST, at: now });
  b.tokens = Math.min(RESET_BURST, b.tokens + ((now - b.at) / 1000) * RESETS_PER_SECOND);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens--;
    return;
  }
  // The final GOAWAY carries `code`; open streams are reset.
  session.destroy(new Error("too many streams reset by the client (HTTP/2 rapid reset)"), NGHTTP2_ENHANCE_YOUR_CALM);
}
