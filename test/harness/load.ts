// Steady, bounded request load for e2e tests: a few workers each sending one request at a time,
// paced, until a stop condition, a request count or a time limit, whichever comes first. Every
// answer that is not 200 (or a transport error) is kept with what the mesh said about it.
import { request } from "undici";

export interface Failure {
  at: number;
  status?: number;
  meshError?: string;
  body?: string;
  error?: string;
}

export interface LoadResult {
  sent: number;
  failures: Failure[];
  /** Requests answered by each app (EchoReply.app). */
  byApp: Record<string, number>;
}

export interface LoadOptions {
  /** Outbound listener port of the sending sidecar. */
  outbound: number;
  host: string;
  workers?: number;
  /** Pause between one worker's requests (keeps the load bounded on a shared machine). */
  paceMs?: number;
  maxRequests: number;
  maxMs: number;
  /** Checked before each request: true stops the load. */
  stop?: () => boolean;
}

export interface RunningLoad {
  sent(): number;
  done: Promise<LoadResult>;
}

export function startLoad(o: LoadOptions): RunningLoad {
  const deadline = Date.now() + o.maxMs;
  const result: LoadResult = { sent: 0, failures: [], byApp: {} };
  const worker = async () => {
    while (result.sent < o.maxRequests && Date.now() < deadline && !o.stop?.()) {
      result.sent++;
      try {
        const res = await request(`http://127.0.0.1:${o.outbound}/load`, { headers: { host: o.host }, headersTimeout: 10_000, bodyTimeout: 10_000 });
        const body = await res.body.text();
        if (res.statusCode === 200) {
          const app = (JSON.parse(body) as { app: string }).app;
          result.byApp[app] = (result.byApp[app] ?? 0) + 1;
        } else {
          const meshError = res.headers["x-tsmesh-error"];
          result.failures.push({ at: Date.now(), status: res.statusCode, meshError: typeof meshError === "string" ? meshError : undefined, body: body.slice(0, 300) });
        }
      } catch (err) {
        result.failures.push({ at: Date.now(), error: (err as Error).message });
      }
      if (o.paceMs) await new Promise((r) => setTimeout(r, o.paceMs));
    }
  };
  const done = Promise.all(Array.from({ length: o.workers ?? 4 }, worker)).then(() => result);
  return { sent: () => result.sent, done };
}
