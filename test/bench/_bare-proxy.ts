// A bare reverse-proxy hop for choosing the sidecar's upstream client: the same tiny server
// forwarding with http-proxy, an undici Pool or the sidecar's own HTTP/1.1 pool
// (sidecar/upstream/h1), keep-alive on all. Prints its port.
// Usage: node _bare-proxy.js <http-proxy|undici|tsmesh-h1> <targetPort>
import http from "node:http";
import type { AddressInfo } from "node:net";
import httpProxy from "http-proxy";
import { Pool } from "undici";
import { H1Pool } from "../../sidecar/upstream/h1/pool.js";
import { connectTcp } from "../../sidecar/upstream/tcp-connect.js";

const [mode, targetPort] = [process.argv[2], Number(process.argv[3])];
const target = `http://127.0.0.1:${targetPort}`;
let handler: http.RequestListener;
if (mode === "http-proxy") {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = httpProxy.createProxyServer({ target, agent, xfwd: false });
  proxy.on("error", (_err, _req, res) => {
    const r = res as http.ServerResponse;
    if (!r.headersSent) r.writeHead(502);
    r.end();
  });
  handler = (req, res) => proxy.web(req, res);
} else if (mode === "tsmesh-h1") {
  const pool = new H1Pool({ connect: (done) => connectTcp("127.0.0.1", targetPort, done) });
  handler = (req, res) => {
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.connection;
    pool.dispatch(
      { method: req.method!, path: req.url!, authority: req.headers.host ?? "", headers, body: { kind: "empty" } },
      {
        onWhole: (head, body) => {
          delete head.headers.connection;
          delete head.headers["keep-alive"];
          res.writeHead(head.status, head.headers);
          res.end(body ?? undefined);
        },
        onHeaders: (head) => {
          delete head.headers.connection;
          delete head.headers["keep-alive"];
          delete head.headers["transfer-encoding"];
          res.writeHead(head.status, head.headers);
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError: () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        },
      },
    );
  };
} else {
  const pool = new Pool(target, { connections: null, pipelining: 1 });
  handler = (req, res) => {
    pool.request({ method: req.method as "GET", path: req.url!, headers: req.headers as Record<string, string>, body: req.method === "GET" ? null : req }).then(
      (up) => {
        const headers = up.headers;
        delete headers.connection;
        delete headers["keep-alive"];
        delete headers["transfer-encoding"];
        res.writeHead(up.statusCode, headers);
        up.body.pipe(res);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  };
}
const server = http.createServer(handler);
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log((server.address() as AddressInfo).port));
process.on("SIGTERM", () => process.exit(0));
