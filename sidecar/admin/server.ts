// Admin listener (15020): /live, /ready (certificate + config present), /config_dump (snapshot and
// certificate metadata, never keys), /metrics (the sidecar's registry), POST /quit (graceful exit),
// /app-health/<container>/<probe> (the app's own probes, moved here by injection: 200 or 503).
// Probes and scrapes come from outside the pod; /quit and /config_dump answer loopback callers
// only (Envoy keeps its admin on localhost for the same reason).
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { AppHealth } from "./app-probe.js";

export interface AdminSources {
  registry: Registry;
  /** Reasons the sidecar is not ready yet; empty when ready. */
  notReady: () => string[];
  configDump: () => unknown;
  /** Starts a graceful exit; the response is sent first. */
  quit: () => void;
  /** The app's probes by /app-health path; they reveal and change nothing, so any caller may ask. */
  appHealth?: AppHealth;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body, null, 2) + "\n";
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

export function createAdminServer(src: AdminSources): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const method = req.method ?? "GET";
    if ((path === "/quit" || path === "/config_dump") && !isLoopback(req.socket.remoteAddress)) {
      return json(res, 403, { error: `${path} is only served to loopback callers`, code: "TSMESH_ERR_ADMIN_LOCAL_ONLY" });
    }
    if (path === "/quit") {
      if (method !== "POST") return json(res, 405, { error: "use POST /quit", code: "TSMESH_ERR_METHOD_NOT_ALLOWED" });
      json(res, 202, { status: "draining" });
      res.once("finish", src.quit);
      return;
    }
    if (method !== "GET" && method !== "HEAD") return json(res, 405, { error: `${method} not allowed`, code: "TSMESH_ERR_METHOD_NOT_ALLOWED" });
    if (path?.startsWith("/app-health/")) return appHealth(src.appHealth, path, res);
    switch (path) {
      case "/live":
        return json(res, 200, { status: "live" });
      case "/ready": {
        const reasons = src.notReady();
        return reasons.length === 0 ? json(res, 200, { status: "ready" }) : json(res, 503, { status: "not ready", reasons });
      }
      case "/config_dump":
        return json(res, 200, src.configDump());
      case "/metrics":
        src.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": src.registry.contentType });
            res.end(text);
          },
          (err: Error) => json(res, 500, { error: err.message, code: "TSMESH_ERR_METRICS" }),
        );
        return;
      default:
        return json(res, 404, { error: `no admin endpoint ${path}`, code: "TSMESH_ERR_NOT_FOUND" });
    }
  });
}

function appHealth(health: AppHealth | undefined, path: string, res: http.ServerResponse): void {
  if (!health?.has(path)) return json(res, 404, { error: `no app probe ${path}`, code: "TSMESH_ERR_NOT_FOUND" });
  void health.check(path).then((r) => {
    if (res.destroyed) return;
    const body = `${r.reason}\n`;
    res.writeHead(r.ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

export function listenAdmin(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
