// Bounded traffic for the demo: `concurrency` loops GET the frontend until `requests` were sent or
// `durationMs` passed, whichever comes first, and tally what the answers show.
import http from "node:http";
import { getJson } from "./get-json.js";

export interface TrafficOptions {
  port: number;
  requests: number;
  durationMs: number;
  concurrency: number;
  onProgress?: (t: Tally) => void;
  /** Stops sending (in-flight requests finish). */
  signal?: AbortSignal;
}

export interface Tally {
  sent: number;
  ok: number;
  failed: number;
  /** Requests answered by each orders version. */
  versions: Record<string, number>;
  /** Answers that met a circuit-breaker limit on some hop (x-tsmesh-overflow). */
  overflows: number;
  traceIds: string[];
  statuses: Record<string, number>;
  elapsedMs: number;
  latenciesMs: number[];
}

interface FrontendReply {
  orders?: { version?: string; traceparent?: string; overflow?: string };
  overflow?: string;
}

async function once(agent: http.Agent, port: number): Promise<{ status: number; body: FrontendReply }> {
  const answer = await getJson({ port, path: "/checkout", agent, timeout: 10_000 });
  // An unreadable body is counted by status.
  return { status: answer.status, body: "parsed" in answer && answer.parsed ? (answer.json as FrontendReply) : {} };
}

export async function driveTraffic(opts: TrafficOptions): Promise<Tally> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const start = Date.now();
  const deadline = start + opts.durationMs;
  const t: Tally = { sent: 0, ok: 0, failed: 0, versions: {}, overflows: 0, traceIds: [], statuses: {}, elapsedMs: 0, latenciesMs: [] };
  const progress = setInterval(() => opts.onProgress?.({ ...t, elapsedMs: Date.now() - start }), 200);
  const worker = async () => {
    while (t.sent < opts.requests && Date.now() < deadline && !opts.signal?.aborted) {
      t.sent++;
      const began = performance.now();
      const { status, body } = await once(agent, opts.port);
      t.latenciesMs.push(performance.now() - began);
      t.statuses[String(status)] = (t.statuses[String(status)] ?? 0) + 1;
      if (status === 200) t.ok++;
      else t.failed++;
      const version = body.orders?.version;
      if (status === 200 && version) t.versions[version] = (t.versions[version] ?? 0) + 1;
      if (body.overflow ?? body.orders?.overflow) t.overflows++;
      const traceId = body.orders?.traceparent?.split("-")[1];
      if (traceId && t.traceIds.length < 5 && !t.traceIds.includes(traceId)) t.traceIds.push(traceId);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  } finally {
    clearInterval(progress);
    agent.destroy();
  }
  t.elapsedMs = Date.now() - start;
  opts.onProgress?.(t);
  return t;
}
