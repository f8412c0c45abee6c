// A lazily (re)opened HTTP/2 session per upstream: one connection multiplexes all streams; a
// session that closes, errors or receives GOAWAY leaves at once and is replaced by the next request.
import http2, { type ClientHttp2Session } from "node:http2";
import type { Duplex } from "node:stream";

const CONNECT_FAILURE = Symbol("tsmesh.connectFailure");
const SPOKE_H2 = Symbol("tsmesh.spokeH2");
const GOAWAY_LAST = Symbol("tsmesh.goawayLastStreamId");
type Tagged = ClientHttp2Session & { [CONNECT_FAILURE]?: Error; [SPOKE_H2]?: boolean; [GOAWAY_LAST]?: number };

/** Opens the transport; reports a handshake/identity failure through `onConnectError`. May throw. */
export type OpenTransport = (onConnectError: (err: Error) => void) => Duplex;

/** The classified error that prevented this session from connecting, if any. */
export function connectFailureOf(session: ClientHttp2Session): Error | undefined {
  return (session as Tagged)[CONNECT_FAILURE];
}

/** The peer sent an HTTP/2 SETTINGS frame: it does speak HTTP/2 (an HTTP/1.1-only server never does). */
export function spokeH2(session: ClientHttp2Session): boolean {
  return (session as Tagged)[SPOKE_H2] === true;
}

/** The last stream id the peer's GOAWAY says it processed, once one arrived. */
export function goawayLastStreamId(session: ClientHttp2Session): number | undefined {
  return (session as Tagged)[GOAWAY_LAST];
}

export class H2Session {
  private session: ClientHttp2Session | undefined;

  constructor(
    private readonly authority: string,
    private readonly open?: OpenTransport,
  ) {}

  get(): ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed && (s as Tagged)[GOAWAY_LAST] === undefined) return s;
    const box: { session?: Tagged; early?: Error } = {};
    const onConnectError = (err: Error) => {
      if (box.session) box.session[CONNECT_FAILURE] = err;
      else box.early = err;
    };
    const open = this.open;
    const session = http2.connect(this.authority, {
      settings: { enablePush: false },
      maxSessionMemory: 32,
      ...(open ? { createConnection: () => open(onConnectError) } : {}),
    }) as Tagged;
    box.session = session;
    if (box.early) session[CONNECT_FAILURE] = box.early;
    session.on("error", () => {});
    session.once("remoteSettings", () => (session[SPOKE_H2] = true));
    // Plain h2c (the app) gets a bare net socket with Nagle on: small HEADERS/DATA frames would
    // wait for the previous segment's ACK. The mTLS transport already sets it (tls-connect.ts).
    session.once("connect", (_s: ClientHttp2Session, socket: Duplex & { setNoDelay?: (on: boolean) => unknown }) => socket.setNoDelay?.(true));
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.once("close", forget);
    // Emitted before node closes the streams above lastStreamID, so their failure can tell it
    // was this GOAWAY (they were never processed and may be sent again).
    session.once("goaway", (_code: number, lastStreamID: number) => {
      session[GOAWAY_LAST] = lastStreamID;
      forget();
    });
    this.session = session;
    return session;
  }

  /** Graceful: open streams finish, no new ones. */
  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  destroy(): void {
    this.session?.destroy();
    this.session = undefined;
  }
}
