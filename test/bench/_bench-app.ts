// Benchmark backend: a minimal app in its own process (so it does not share a core's event loop
// with the load generator or the proxies). HTTP/1.1 on one port and h2c (prior knowledge) on a
// second; prints "<h1Port> <h2cPort>" on stdout.
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

const body = Buffer.from("hello from the bench app\n");
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
const h2c = http2.createServer();
h2c.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": body.length });
  stream.end(body);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
await new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", resolve));
console.log(`${(server.address() as AddressInfo).port} ${(h2c.address() as AddressInfo).port}`);
process.on("SIGTERM", () => process.exit(0));
