// Sidecar memory benchmark: RSS of a sidecar pair (client -> A outbound -> mTLS -> B inbound ->
// app) idle, at a fixed 1,000 rps (hey), during a max-throughput burst (wrk) and at 1,000 rps
// again after it — the order test/bench/dataplane.ts measures in. RSS is sampled every 100 ms
// during load (peak and end reported) together with the wrk rps, so a memory setting that costs
// throughput shows. Several node option sets can be compared in one run: one pair each, wrk
// rounds alternating between them (drifting background load on a shared host hits all alike),
// best round counted. RSS includes ~40 MB of the node binary's file-backed pages (shared between
// node processes); anon (RssAnon) is what the sidecar itself adds. Prints one JSON line. Usage:
//   node dist/test/bench/sidecar-rss.js [heySeconds=5] [wrkSeconds=5] [rounds=2] [nodeOptions...]
// e.g. ... 5 5 3 "" "MALLOC_ARENA_MAX=2 --max-semi-space-size=4": leading NAME=value words are
// environment variables. "" = node's and glibc's defaults; none given: the deployment settings
// from shared/sidecar-node-options.ts. (The sidecar's own runtime V8 flags apply in every set.)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS } from "../../shared/sidecar-node-options.js";
import { createTestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";
import { cpuSeconds, hey, round, spawnWithPort, wrk } from "./_tools.js";

const HEY_SECONDS = Number(process.argv[2] ?? 5);
const WRK_SECONDS = Number(process.argv[3] ?? 5);
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 2));
const CONFIGS = process.argv.length > 5 ? process.argv.slice(5) : [`MALLOC_ARENA_MAX=${SIDECAR_MALLOC_ARENA_MAX} ${SIDECAR_NODE_OPTIONS}`];
const here = fileURLToPath(new URL(".", import.meta.url));
const log = (msg: string) => process.stderr.write(`[sidecar-rss bench] ${msg}\n`);

interface Mem {
  rss: number;
  anon: number;
}

function mem(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: round(kb("VmRSS") / 1024, 1), anon: round(kb("RssAnon") / 1024, 1) };
}

const worst = (ms: Mem[]): Mem => ({ rss: Math.max(...ms.map((m) => m.rss)), anon: Math.max(...ms.map((m) => m.anon)) });

const cpuOf = (pids: number[]) => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/**
 * Runs `load` while sampling the pids' memory: the worst sidecar's peak and end values, and the
 * pair's CPU time (more stable than rps on a busy host: GC work from a smaller heap shows here).
 */
async function sampled<T>(pids: number[], load: () => Promise<T>): Promise<{ result: T; peak: Mem; end: Mem; cpu: number }> {
  let peak = worst(pids.map(mem));
  const timer = setInterval(() => (peak = worst([peak, ...pids.map(mem)])), 100);
  const cpu0 = cpuOf(pids);
  try {
    const result = await load();
    return { result, peak, end: worst(pids.map(mem)), cpu: cpuOf(pids) - cpu0 };
  } finally {
    clearInterval(timer);
  }
}

interface Pair {
  nodeOptions: string;
  pids: number[];
  url: string;
}

const dir = mkdtempSync(join(tmpdir(), "tsmesh-bench-rss-"));
const pki = createTestPki("bench");
const sidecars: SidecarProcess[] = [];
const app = await spawnWithPort([join(here, "_bench-app.js")]);
try {
  const quiet = { meshConfig: { trustDomain: "cluster.local", mtls: "PERMISSIVE" as const, logLevel: "warn" as const } };
  const pairs: Pair[] = [];
  for (const [i, nodeOptions] of CONFIGS.entries()) {
    // Explicit, so "" really means the defaults (the harness adds the deployment settings otherwise;
    // MALLOC_ARENA_MAX=0 is glibc's default).
    const words = nodeOptions.split(" ").filter(Boolean);
    const vars = words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split("=", 2) as [string, string]);
    const env = { MALLOC_ARENA_MAX: "0", ...Object.fromEntries(vars), NODE_OPTIONS: words.filter((w) => !/^[A-Z_]+=/.test(w)).join(" ") };
    const b = await startSidecarProcess({ service: `b${i}`, appPort: app.port, certs: pki.issue(`b${i}`), dir, snapshot: snapshotOf(quiet), env });
    sidecars.push(b);
    const a = await startSidecarProcess({
      service: `a${i}`,
      appPort: 1,
      certs: pki.issue(`a${i}`),
      dir,
      snapshot: snapshotOf({ ...quiet, endpoints: { [`b${i}`]: endpointsAt(`b${i}`, [b.inbound]) } }),
      env,
    });
    sidecars.push(a);
    pairs.push({ nodeOptions, pids: [a.proc.pid!, b.proc.pid!], url: `http://127.0.0.1:${a.outbound}/` });
  }
  await new Promise((r) => setTimeout(r, 1000));
  const results = pairs.map((p) => ({ nodeOptions: p.nodeOptions, idle: worst(p.pids.map(mem)), rounds: [] as number[], cpuUsPerRequest: [] as number[], peaks: [] as Mem[], errors: 0 }));
  for (const [i, p] of pairs.entries()) {
    const host = `b${i}`;
    const fixed = await sampled(p.pids, () => hey(p.url, host, HEY_SECONDS, 10, 100));
    Object.assign(results[i]!, { at1000Rps: { peak: fixed.peak, end: fixed.end, p99Ms: fixed.result.p99Ms, pairCores: round(fixed.cpu / HEY_SECONDS) } });
    results[i]!.errors += fixed.result.errors;
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, p] of pairs.entries()) {
      const burst = await sampled(p.pids, () => wrk(p.url, `b${i}`, WRK_SECONDS, 16));
      results[i]!.rounds.push(burst.result.rps);
      results[i]!.cpuUsPerRequest.push(round((burst.cpu * 1e6) / Math.max(1, burst.result.rps * WRK_SECONDS), 1));
      results[i]!.peaks.push(burst.peak);
      results[i]!.errors += burst.result.errors;
      log(`${JSON.stringify(p.nodeOptions)} round ${r}: ${burst.result.rps} rps, peak ${JSON.stringify(burst.peak)}`);
    }
  }
  for (const [i, p] of pairs.entries()) {
    const fixed = await sampled(p.pids, () => hey(p.url, `b${i}`, HEY_SECONDS, 10, 100));
    Object.assign(results[i]!, { at1000RpsAfterWrk: { peak: fixed.peak, end: fixed.end, p99Ms: fixed.result.p99Ms, pairCores: round(fixed.cpu / HEY_SECONDS) } });
    results[i]!.errors += fixed.result.errors;
  }
  const summary = results.map(({ peaks, ...r }) => ({ ...r, wrk: { bestRps: Math.max(...r.rounds), minCpuUsPerRequest: Math.min(...r.cpuUsPerRequest), peak: worst(peaks) } }));
  console.log(JSON.stringify({ bench: "sidecar-rss", heySeconds: HEY_SECONDS, wrkSeconds: WRK_SECONDS, rounds: ROUNDS, results: summary }));
} finally {
  await Promise.all(sidecars.map((s) => s.stop()));
  // Awaited, SIGKILL after 2 s: the bench must not leave its app running.
  const exited = new Promise((r) => app.proc.once("exit", r));
  app.proc.kill("SIGTERM");
  const timer = setTimeout(() => app.proc.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
