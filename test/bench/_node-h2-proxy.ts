// Benchmark floor for HTTP/2: the least a node:http2 proxy costs. Each stream is forwarded on one
// shared upstream session, headers as they are, bodies piped, with no routing, policy or
// telemetry. Two of them with mutual TLS between them stand where the sidecar pair does
// (test/bench/dataplane.ts, "node-h2-proxy-pair-mtls"), so the pair's HTTP/2 throughput can be
// read against what node:http2 itself costs, in the same run.
// Usage: node _node-h2-proxy.js <listenTls 0|1> <targetPort> <targetTls 0|1> <cert> <key> <ca>
// Prints the listening port on stdout.
import { readFileSync } from "node:fs";
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";

const [listenTls, targetPort, targetTls, certFile, keyFile, caFile] = process.argv.slice(2);
const creds = { cert: readFileSync(certFile!), key: readFileSync(keyFile!), ca: readFileSync(caFile!) };

let session: ClientHttp2Session | undefined;
function upstream(): ClientHttp2Session {
  if (session && !session.closed && !session.destroyed) return session;
  session =
    targetTls === "1"
      ? http2.connect(`https://127.0.0.1:${targetPort}`, { ...creds, checkServerIdentity: () => undefined })
      : http2.connect(`http://127.0.0.1:${targetPort}`);
  session.on("error", () => {});
  return session;
}

function forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  stream.on("error", () => {});
  const out = { ...headers };
  delete out[":scheme"];
  let up;
  try {
    up = upstream().request(out);
  } catch {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  up.on("error", () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  stream.on("close", () => up.close());
  up.on("response", (h) => {
    if (stream.destroyed) return;
    stream.respond({ ...h });
    up.pipe(stream);
  });
  stream.pipe(up);
}

const server = listenTls === "1" ? http2.createSecureServer({ ...creds, requestCert: true, rejectUnauthorized: true }) : http2.createServer();
server.on("stream", forward);
server.on("sessionError", () => {});
server.listen(0, "127.0.0.1", () => console.log((server.address() as AddressInfo).port));
process.on("SIGTERM", () => process.exit(0));
