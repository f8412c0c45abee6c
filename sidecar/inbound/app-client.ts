// The innermost inbound handler: forwards to the local app on 127.0.0.1:<appPort>, HTTP/1.1 over
// a keep-alive pool or h2c on one session, matching the protocol the request came in with.
import type { Handler } from "../core/handler.js";
import { H1Pool } from "../upstream/h1/pool.js";
import { H2Session } from "../upstream/h2-sessions.js";
import { connectTcp } from "../upstream/tcp-connect.js";
import { sendH1 } from "../upstream/send-h1.js";
import { sendH2 } from "../upstream/send-h2.js";
import { upstreamError } from "../upstream/errors.js";

export interface AppClient {
  handler: Handler;
  close(): Promise<void>;
}

export function createAppClient(appPort: number, appHost = "127.0.0.1"): AppClient {
  const address = `${appHost}:${appPort}`;
  // 4 s: under Node's default 5 s server keep-alive, so the app does not close a connection just
  // as a request goes out on it (the pool also honours a `Keep-Alive: timeout` the app sends).
  const h1 = new H1Pool({ connect: (done) => connectTcp(appHost, appPort, done), keepAliveTimeoutMs: 4_000 });
  const h2 = new H2Session(`http://${address}`);
  const handler: Handler = (req) => {
    if (req.protocol === "http/1.1") return sendH1(h1, req, `app ${address}`);
    let session;
    try {
      session = h2.get();
    } catch (err) {
      return Promise.reject(upstreamError(err, req.signal, `app ${address}`));
    }
    return sendH2(session, req, "http", `app ${address}`);
  };
  return {
    handler,
    async close() {
      h2.destroy();
      await h1.destroy();
    },
  };
}
