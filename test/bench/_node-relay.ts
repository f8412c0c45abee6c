// Benchmark floor: the least a Node.js process in a sidecar's place can cost. It relays bytes,
// one upstream connection per downstream connection, with no HTTP parsing, routing, policy or
// telemetry. Two of them with mutual TLS between them stand where the sidecar pair does
// (test/bench/dataplane.ts, "node-relay-pair-mtls"), so the pair's latency and memory can be read
// against what Node.js itself costs on this machine, in the same run.
// Usage: node _node-relay.js <listenTls 0|1> <targetPort> <targetTls 0|1> <cert> <key> <ca>
// Prints the listening port on stdout.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const [listenTls, targetPort, targetTls, certFile, keyFile, caFile] = process.argv.slice(2);
const creds = { cert: readFileSync(certFile!), key: readFileSync(keyFile!), ca: readFileSync(caFile!) };

function upstream(): net.Socket {
  const port = Number(targetPort);
  if (targetTls !== "1") return net.connect({ host: "127.0.0.1", port, noDelay: true });
  // The peer's SPIFFE ID is not checked here (the sidecar checks it): the floor only pays for TLS.
  const socket = tls.connect({ host: "127.0.0.1", port, ...creds, checkServerIdentity: () => undefined });
  socket.setNoDelay(true);
  return socket;
}

function relay(down: net.Socket): void {
  down.setNoDelay(true);
  const up = upstream();
  down.pipe(up).on("error", () => down.destroy());
  up.pipe(down).on("error", () => up.destroy());
  down.on("error", () => up.destroy());
  up.on("error", () => down.destroy());
  down.on("close", () => up.destroy());
  up.on("close", () => down.destroy());
}

const server = listenTls === "1" ? tls.createServer({ ...creds, requestCert: true, rejectUnauthorized: true }, relay) : net.createServer(relay);
server.listen(0, "127.0.0.1", () => console.log((server.address() as net.AddressInfo).port));
process.on("SIGTERM", () => process.exit(0));
