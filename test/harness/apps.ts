// Small apps for data-plane tests, on 127.0.0.1 and port 0: an HTTP/1.1 + h2c echo server whose
// behaviour is steered per request by headers, so one app serves many cases.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface EchoReply {
  app: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  protocol: string;
}

export interface TestApp {
  port: number;
  /** Requests seen so far. */
  count: () => number;
  close(): Promise<void>;
}

export interface AppBehaviour {
  name?: string;
  /** Fraction of requests answered 503 (deterministic: every k-th). */
  failEvery?: number;
  /** Probability of answering 503 (random). */
  failRate?: number;
  /** The first n requests answered 503, the rest as usual. */
  failFirst?: number;
  /** Never answer (hanging endpoint). */
  hang?: boolean;
}

/**
 * Echo app: replies JSON {app, method, url, headers, body}. Request headers steer it:
 * `x-delay-ms` waits first, `x-status` sets the status.
 */
export async function startEchoApp(b: AppBehaviour = {}): Promise<TestApp> {
  let count = 0;
  const name = b.name ?? "app";
  const handle = (method: string, url: string, headers: http.IncomingHttpHeaders, protocol: string, body: string, reply: (status: number, data: string) => void) => {
    count++;
    if (b.hang) return;
    if ((b.failFirst && count <= b.failFirst) || (b.failEvery && count % b.failEvery === 0) || (b.failRate && Math.random() < b.failRate)) return reply(503, JSON.stringify({ app: name, error: "injected" }));
    const delay = Number(headers["x-delay-ms"] ?? 0);
    const status = Number(headers["x-status"] ?? 200);
    const send = () => reply(status, JSON.stringify({ app: name, method, url, headers, body, protocol } satisfies EchoReply));
    if (delay > 0) setTimeout(send, delay);
    else send();
  };
  const h1 = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () =>
      handle(req.method!, req.url!, req.headers, "http/1.1", Buffer.concat(chunks).toString(), (status, data) => {
        res.writeHead(status, { "content-type": "application/json", "x-app": name });
        res.end(data);
      }),
    );
  });
  const h2 = http2.createServer();
  h2.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () =>
      handle(String(headers[":method"]), String(headers[":path"]), headers as http.IncomingHttpHeaders, "h2", Buffer.concat(chunks).toString(), (status, data) => {
        if (stream.destroyed) return;
        stream.respond({ ":status": status, "content-type": "application/json", "x-app": name });
        stream.end(data);
      }),
    );
  });
  // h2c prior knowledge and HTTP/1.1 on one port, like the sidecar's outbound listener.
  const server = net.createServer((socket) => {
    socket.once("data", (buf) => {
      socket.pause();
      socket.unshift(buf);
      if (buf.subarray(0, 3).toString() === "PRI") h2.emit("connection", socket);
      else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    count: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
