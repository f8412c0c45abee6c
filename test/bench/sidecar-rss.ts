// Sidecar memory benchmark: RSS of the sidecar pair (client -> A outbound -> mTLS -> B inbound ->
// app) idle, at a fixed 1,000 rps (hey), then after a max-throughput burst (wrk) followed by
// 1,000 rps again — the order test/bench/dataplane.ts measures in. RSS is sampled every 100 ms
// during load; the peak and the value at the end are reported, with the wrk rps (memory settings
// must not cost throughput). Extra node options for the sidecars come from SIDECAR_NODE_OPTIONS
// (passed as NODE_OPTIONS). Prints one JSON line. Bounded: fixed durations. Usage:
//   node dist/test/bench/sidecar-rss.js [heySeconds=5] [wrkSeconds=5]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";
import { hey, rssMb, spawnWithPort, wrk } from "./_tools.js";

const HEY_SECONDS = Number(process.argv[2] ?? 5);
const WRK_SECONDS = Number(process.argv[3] ?? 5);
const here = fileURLToPath(new URL(".", import.meta.url));
const log = (msg: string) => process.stderr.write(`[sidecar-rss bench] ${msg}\n`);
const nodeOptions = process.env.SIDECAR_NODE_OPTIONS;

/** Runs `load` while sampling the pids' RSS; returns the per-pid peak and final values. */
async function sampled<T>(pids: number[], load: () => Promise<T>): Promise<{ result: T; peak: number[]; end: number[] }> {
  const peak = pids.map(rssMb);
  const timer = setInterval(() => pids.forEach((p, i) => (peak[i] = Math.max(peak[i]!, rssMb(p)))), 100);
  try {
    const result = await load();
    return { result, peak, end: pids.map(rssMb) };
  } finally {
    clearInterval(timer);
  }
}

const dir = mkdtempSync(join(tmpdir(), "tsmesh-bench-rss-"));
const pki = createTestPki("bench");
const sidecars: SidecarProcess[] = [];
const app = await spawnWithPort([join(here, "_bench-app.js")]);
try {
  const env = nodeOptions ? { NODE_OPTIONS: nodeOptions } : undefined;
  const quiet = { meshConfig: { trustDomain: "cluster.local", mtls: "PERMISSIVE" as const, logLevel: "warn" as const } };
  const b = await startSidecarProcess({ service: "b", appPort: app.port, certs: pki.issue("b"), dir, snapshot: snapshotOf(quiet), env });
  sidecars.push(b);
  const a = await startSidecarProcess({
    service: "a",
    appPort: 1,
    certs: pki.issue("a"),
    dir,
    snapshot: snapshotOf({ ...quiet, endpoints: { b: endpointsAt("b", [b.inbound]) } }),
    env,
  });
  sidecars.push(a);
  const pids = [a.proc.pid!, b.proc.pid!];
  const url = `http://127.0.0.1:${a.outbound}/`;
  await new Promise((r) => setTimeout(r, 1000));
  const idle = pids.map(rssMb);
  log(`idle ${JSON.stringify(idle)}`);
  const fixed1 = await sampled(pids, () => hey(url, "b", HEY_SECONDS, 10, 100));
  log(`1000 rps: ${JSON.stringify(fixed1)}`);
  const burst = await sampled(pids, () => wrk(url, "b", WRK_SECONDS, 16));
  log(`wrk: ${JSON.stringify(burst)}`);
  const fixed2 = await sampled(pids, () => hey(url, "b", HEY_SECONDS, 10, 100));
  log(`1000 rps after wrk: ${JSON.stringify(fixed2)}`);
  console.log(
    JSON.stringify({
      bench: "sidecar-rss",
      nodeOptions: nodeOptions ?? null,
      rssMb: {
        idle: Math.max(...idle),
        at1000Rps: { peak: Math.max(...fixed1.peak), end: Math.max(...fixed1.end) },
        wrk: { peak: Math.max(...burst.peak), end: Math.max(...burst.end) },
        at1000RpsAfterWrk: { peak: Math.max(...fixed2.peak), end: Math.max(...fixed2.end) },
      },
      perSidecar: { a: { idle: idle[0] }, b: { idle: idle[1] } },
      wrkRps: burst.result.rps,
      heyP99Ms: [fixed1.result.p99Ms, fixed2.result.p99Ms],
      errors: fixed1.result.errors + burst.result.errors + fixed2.result.errors,
    }),
  );
} finally {
  await Promise.all(sidecars.map((s) => s.stop()));
  app.proc.kill("SIGTERM");
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
