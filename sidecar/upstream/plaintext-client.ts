// A plaintext upstream (the local app behind the inbound listener; a host outside the mesh for
// egress): HTTP/1.1 over a keep-alive pool or h2c on one session, matching the protocol the
// request came in with. A server that turns out to speak only HTTP/1.1 (its answer to the h2c
// preface is not HTTP/2) gets HTTP/2 requests translated to HTTP/1.1, as Envoy does for an
// HTTP/1.1 upstream cluster; gRPC is never translated (it needs trailers) and fails with
// UNAVAILABLE instead.
import type { ClientHttp2Session } from "node:http2";
import type { Handler, MeshRequest } from "../core/handler.js";
import { H1Pool } from "./h1/pool.js";
import { H2Session, spokeH2 } from "./h2-sessions.js";
import { connectTcp } from "./tcp-connect.js";
import { sendH1 } from "./send-h1.js";
import { sendH2 } from "./send-h2.js";

export interface PlaintextClient {
  handler: Handler;
  close(): Promise<void>;
}

/** How long a server found to be HTTP/1.1-only is taken as such before h2c is tried again. */
const H1_ONLY_MS = 60_000;

function isGrpc(req: MeshRequest): boolean {
  const ct = req.headers["content-type"];
  return typeof ct === "string" && ct.startsWith("application/grpc");
}

/** `target` names the server in errors ("app 127.0.0.1:8080"). */
export function createPlaintextClient(host: string, port: number, target: string): PlaintextClient {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  // 4 s: under Node's default 5 s server keep-alive, so the server does not close a connection
  // just as a request goes out on it (the pool also honours a `Keep-Alive: timeout` it sends).
  const h1 = new H1Pool({ connect: (done) => connectTcp(host, port, done), keepAliveTimeoutMs: 4_000 });
  const h2 = new H2Session(`http://${address}`);
  let h1OnlyUntil = 0;
  const handler: Handler = (req) => {
    if (req.protocol === "http/1.1") return sendH1(h1, req, target);
    const grpc = isGrpc(req);
    if (!grpc && Date.now() < h1OnlyUntil) return sendH1(h1, req, target);
    let session: ClientHttp2Session | undefined;
    return sendH2(h2, req, "http", target, (s) => (session = s)).catch((err: unknown) => {
      // The connection failed without the app ever sending HTTP/2 SETTINGS: not an h2c server.
      if (!session || spokeH2(session) || req.signal.aborted) throw err;
      h1OnlyUntil = Date.now() + H1_ONLY_MS;
      // A streamed body was (partly) consumed by the failed attempt and cannot be sent again.
      if (grpc || req.body.kind === "stream") throw err;
      return sendH1(h1, req, target);
    });
  };
  return {
    handler,
    async close() {
      h2.destroy();
      await h1.destroy();
    },
  };
}
