// Performs one of the app's own probes against the local app, judged as the kubelet judges it:
// httpGet 2xx/3xx (redirects not followed, HTTPS not verified), tcpSocket connects, grpc
// Health/Check answers SERVING. Every probe ends within its timeoutSeconds (capped at
// MAX_PROBE_TIMEOUT_MS), since the admin port may be reached from outside the pod.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { loadHealthProto } from "../../shared/proto/health.js";
import type { AppProber } from "./app-probers.js";

export interface ProbeResult {
  ok: boolean;
  /** One line: what was probed and how it ended. */
  reason: string;
}

export const MAX_PROBE_TIMEOUT_MS = 60_000;

const timeoutOf = (p: AppProber) => Math.min(Math.round(p.timeoutSeconds * 1000), MAX_PROBE_TIMEOUT_MS);

function withTimeout(ms: number, what: string, run: (done: (r: ProbeResult) => void, onTimeout: (fn: () => void) => void) => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let cleanup = () => {};
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `${what}: timed out after ${ms} ms` }), ms);
    // A cleanup registered after the end (the grpc client comes after an await) runs at once.
    run(done, (fn) => {
      if (settled) fn();
      else cleanup = fn;
    });
  });
}

function httpProbe(p: Extract<AppProber, { httpGet: unknown }>, host: string): Promise<ProbeResult> {
  const g = p.httpGet;
  const what = `${g.scheme} GET ${host}:${g.port}${g.path}`;
  return withTimeout(timeoutOf(p), what, (done, onEnd) => {
    const headers: Record<string, string> = { "user-agent": "kube-probe/tsmesh", accept: "*/*" };
    for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
    const options = { host, port: g.port, path: g.path, method: "GET", headers, agent: false as const };
    const req = g.scheme === "HTTPS" ? https.request({ ...options, rejectUnauthorized: false }) : http.request(options);
    onEnd(() => req.destroy());
    req.once("response", (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done({ ok: code >= 200 && code < 400, reason: `${what}: status ${code}` });
    });
    req.once("error", (err) => done({ ok: false, reason: `${what}: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(p: Extract<AppProber, { tcpSocket: unknown }>, host: string): Promise<ProbeResult> {
  const what = `TCP ${host}:${p.tcpSocket.port}`;
  return withTimeout(timeoutOf(p), what, (done, onEnd) => {
    const sock = net.connect({ host, port: p.tcpSocket.port });
    onEnd(() => sock.destroy());
    sock.once("connect", () => done({ ok: true, reason: `${what}: connected` }));
    sock.once("error", (err) => done({ ok: false, reason: `${what}: ${err.message}` }));
  });
}

function grpcProbe(p: Extract<AppProber, { grpc: unknown }>, host: string): Promise<ProbeResult> {
  const service = p.grpc.service ?? "";
  const what = `gRPC Health/Check ${host}:${p.grpc.port}${service ? ` service ${service}` : ""}`;
  const ms = timeoutOf(p);
  return withTimeout(ms, what, (done, onEnd) => {
    loadHealthProto().then(
      ({ grpc, Health }) => {
        const client = new Health(`${host}:${p.grpc.port}`, grpc.credentials.createInsecure());
        onEnd(() => client.close());
        const check = client.check as (req: unknown, meta: unknown, cb: (err: Error | null, res?: { status?: string }) => void) => void;
        check.call(client, { service }, { deadline: Date.now() + ms }, (err, res) => {
          if (err) return done({ ok: false, reason: `${what}: ${err.message.split("\n")[0]}` });
          const status = res?.status ?? "UNKNOWN";
          done({ ok: status === "SERVING", reason: `${what}: ${status}` });
        });
      },
      (err: Error) => done({ ok: false, reason: `${what}: ${err.message}` }),
    );
  });
}

export function runProbe(p: AppProber, host = "127.0.0.1"): Promise<ProbeResult> {
  if ("httpGet" in p) return httpProbe(p, host);
  if ("tcpSocket" in p) return tcpProbe(p, host);
  return grpcProbe(p, host);
}

/**
 * The probes by /app-health path. Concurrent callers of one path share one probe in flight, so
 * callers from outside the pod cannot multiply the connections made to the app.
 */
export class AppHealth {
  private readonly inflight = new Map<string, Promise<ProbeResult>>();
  constructor(
    private readonly probers: Map<string, AppProber>,
    private readonly host = "127.0.0.1",
  ) {}

  has(path: string): boolean {
    return this.probers.has(path);
  }

  check(path: string): Promise<ProbeResult> {
    const p = this.probers.get(path);
    if (!p) return Promise.resolve({ ok: false, reason: `no app probe ${path}` });
    let running = this.inflight.get(path);
    if (!running) {
      running = runProbe(p, this.host).finally(() => this.inflight.delete(path));
      this.inflight.set(path, running);
    }
    return running;
  }
}
