// Benchmark backend: a minimal HTTP/1.1 app in its own process (so it does not share a core's
// event loop with the load generator or the proxies). Prints its port on stdout.
import http from "node:http";
import type { AddressInfo } from "node:net";

const body = Buffer.from("hello from the bench app\n");
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log((server.address() as AddressInfo).port));
process.on("SIGTERM", () => process.exit(0));
