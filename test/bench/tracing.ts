// Tracing overhead on the data path: the sidecar pair over mTLS (client -> sidecar A outbound ->
// sidecar B inbound -> app) with MeshConfig.tracing.sampling 0 and then 1, exporting over
// OTLP/HTTP protobuf to a receiver in this process. The sampling ratio is switched by hot reload
// (SIGHUP), so both settings run on the same warm processes; rounds alternate to spread noise.
// Max throughput (wrk), latency at a fixed 1,000 rps (hey), sidecar CPU per 1,000 rps, spans
// received. Prints one JSON summary line. Bounded: fixed phase durations and round count.
//   node dist/test/bench/tracing.js [wrkSeconds=5] [heySeconds=5] [rounds=2]
import { mkdtempSync, rmSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestPki } from "../harness/mesh-certs.js";
import { startOtlpReceiver } from "../harness/otlp-receiver.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";
import { cpuSeconds, hey, round, rssMb, spawnWithPort, wrk } from "./_tools.js";

const WRK_SECONDS = Number(process.argv[2] ?? 5);
const HEY_SECONDS = Number(process.argv[3] ?? 5);
const ROUNDS = Math.min(5, Number(process.argv[4] ?? 2));
const FIXED_RPS = 1000;
const HEY_WORKERS = 10;
// Batch processor delay in the sidecars (SDK default 5 s): each phase's spans are in before the
// next phase starts. Under load batches leave when full (512 spans) anyway.
const BATCH_DELAY_MS = 400;
const env = { OTEL_BSP_SCHEDULE_DELAY: String(BATCH_DELAY_MS) };
const here = fileURLToPath(new URL(".", import.meta.url));
const log = (msg: string) => process.stderr.write(`[tracing bench] ${msg}\n`);

interface Phase {
  sampling: number;
  wrkRps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuCoresPer1000Rps: number[];
  spans: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
};

/** Waits until `count()` stops changing for longer than the batch delay (at most 8 s). */
async function settled(count: () => number): Promise<void> {
  const deadline = Date.now() + 8000;
  let last = -1;
  while (Date.now() < deadline && count() !== last) {
    last = count();
    await new Promise((res) => setTimeout(res, BATCH_DELAY_MS * 2.5));
  }
}

const dir = mkdtempSync(join(tmpdir(), "tsmesh-bench-tracing-"));
const pki = createTestPki("bench-tracing");
const children: ChildProcess[] = [];
const sidecars: SidecarProcess[] = [];
const rx = await startOtlpReceiver();
try {
  const app = await spawnWithPort([join(here, "_bench-app.js")]);
  children.push(app.proc);
  const meshConfig = (sampling: number) => ({
    trustDomain: "cluster.local",
    mtls: "STRICT" as const,
    logLevel: "warn" as const,
    tracing: { sampling, otlpEndpoint: rx.url },
  });
  let version = 1;
  const snapB = (s: number) => snapshotOf({ version: String(version), meshConfig: meshConfig(s) });
  const b = await startSidecarProcess({ service: "b", appPort: app.port, certs: pki.issue("b"), dir, env, snapshot: snapB(0) });
  sidecars.push(b);
  const snapA = (s: number) => snapshotOf({ version: String(version), meshConfig: meshConfig(s), endpoints: { b: endpointsAt("b", [b.inbound]) } });
  const a = await startSidecarProcess({ service: "a", appPort: 1, certs: pki.issue("a"), dir, env, snapshot: snapA(0) });
  sidecars.push(a);
  const url = `http://127.0.0.1:${a.outbound}/`;
  await wrk(url, "b", 2, 8); // warm-up: JIT, pools, TLS sessions

  const phases: Phase[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const sampling of [0, 1]) {
      version++;
      a.reload(snapA(sampling));
      b.reload(snapB(sampling));
      await new Promise((res) => setTimeout(res, 500));
      const spans0 = rx.spans.length;
      const w = await wrk(url, "b", WRK_SECONDS, 16);
      const pids = [a.proc.pid!, b.proc.pid!];
      const cpu0 = pids.map(cpuSeconds);
      const t0 = performance.now();
      const h = await hey(url, "b", HEY_SECONDS, HEY_WORKERS, FIXED_RPS / HEY_WORKERS);
      const elapsed = (performance.now() - t0) / 1000;
      const cores = pids.map((pid, i) => (cpuSeconds(pid) - cpu0[i]!) / elapsed);
      await settled(() => rx.spans.length); // the batch processors export what is queued
      const phase: Phase = {
        sampling,
        wrkRps: w.rps,
        p50Ms: h.p50Ms,
        p99Ms: h.p99Ms,
        errors: w.errors + h.errors,
        cpuCoresPer1000Rps: cores.map((c) => round((c * 1000) / Math.max(1, h.rps))),
        spans: rx.spans.length - spans0,
      };
      phases.push(phase);
      // Keep the receiver's memory flat across phases.
      rx.spans.length = 0;
      log(JSON.stringify(phase));
    }
  }
  const of = (s: number) => phases.filter((p) => p.sampling === s);
  const agg = (s: number) => ({
    wrkRps: median(of(s).map((p) => p.wrkRps)),
    p50Ms: median(of(s).map((p) => p.p50Ms)),
    p99Ms: median(of(s).map((p) => p.p99Ms)),
    cpuCoresPer1000Rps: median(of(s).map((p) => p.cpuCoresPer1000Rps.reduce((x, y) => x + y, 0))),
    spansPerPhase: median(of(s).map((p) => p.spans)),
  });
  const off = agg(0);
  const on = agg(1);
  console.log(
    JSON.stringify({
      bench: "tracing",
      path: "client -> sidecar A -> mTLS -> sidecar B -> app; spans: A request + A attempt + B server",
      wrk: { seconds: WRK_SECONDS, connections: 16 },
      fixedRate: { rps: FIXED_RPS, seconds: HEY_SECONDS },
      rounds: ROUNDS,
      sampling0: off,
      sampling1: on,
      overheadAt100pct: {
        throughputRatio: round(on.wrkRps / Math.max(1, off.wrkRps)),
        addedP50Ms: round(on.p50Ms - off.p50Ms),
        addedP99Ms: round(on.p99Ms - off.p99Ms),
        cpuRatio: round(on.cpuCoresPer1000Rps / Math.max(1e-9, off.cpuCoresPer1000Rps)),
      },
      errors: phases.reduce((s, p) => s + p.errors, 0),
      sidecarRssMb: [rssMb(a.proc.pid!), rssMb(b.proc.pid!)],
      phases,
    }),
  );
} finally {
  await Promise.all(sidecars.map((s) => s.stop()));
  for (const c of children) c.kill("SIGTERM");
  await rx.close();
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
