// Data-plane benchmark, all in one run on this machine: max throughput (wrk) and latency at a
// fixed 1,000 rps (hey) for
//   direct            client -> app
//   nginx-1hop        client -> nginx -> app                (plain reverse proxy, keep-alive upstream)
//   nginx-2hop        client -> nginx -> nginx -> app
//   sidecar-1hop      client -> sidecar inbound (PERMISSIVE plaintext) -> app
//   sidecar-pair-mtls client -> sidecar A outbound -> mTLS -> sidecar B inbound -> app
//   node-relay-pair-mtls client -> Node relay -> mTLS -> Node relay -> app (_node-relay.ts: bytes
//                     only, the floor a Node.js pair cannot go under)
// and the sidecars' RSS and CPU per 1,000 rps; then HTTP/2 (h2load, h2c to the first hop) direct
// vs through the sidecar pair (h2 over mTLS between the sidecars) vs two bare node:http2 proxies
// (_node-h2-proxy.ts, the HTTP/2 floor); then the tracing overhead at
// 100% sampling (test/bench/tracing.ts, run from here). Sidecars run the default MeshConfig
// (sampling 0.01, access log off). Prints one JSON summary line (plus progress on stderr). Bounded: every phase has a fixed duration. Usage:
//   node dist/test/bench/dataplane.js [wrkSeconds=5] [heySeconds=10] [rounds=2]
// Throughput rounds alternate over all targets and the best round counts, so background load that
// drifts during the run (a shared CI host) does not favour whichever target ran in a quiet moment.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../shared/net/free-port.js";
import { sidecarEnv } from "../../shared/sidecar-node-options.js";
import { createTestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";
import { cpuSeconds, h2load, hey, round, rssMb, run, spawnWithPort, wrk, type H2loadResult, type HeyResult, type WrkResult } from "./_tools.js";

const WRK_SECONDS = Number(process.argv[2] ?? 5);
const HEY_SECONDS = Number(process.argv[3] ?? 10);
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 2));
const CONNECTIONS = 16;
const FIXED_RPS = 1000;
const HEY_WORKERS = 10;
const here = fileURLToPath(new URL(".", import.meta.url));
const log = (msg: string) => process.stderr.write(`[dataplane bench] ${msg}\n`);

async function nginx(dir: string, appPort: number): Promise<{ proc: ChildProcess; hop1: number; hop2: number }> {
  const [hop1, hop2] = [await freePort(), await freePort()];
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, d), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${appPort}; keepalive 64; }
  upstream hop1 { server 127.0.0.1:${hop1}; keepalive 64; }
  server { listen 127.0.0.1:${hop1}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:${hop2}; location / { proxy_pass http://hop1; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = spawn("nginx", ["-c", join(dir, "nginx.conf"), "-p", dir], { stdio: "ignore" });
  for (let i = 0; i < 50; i++) {
    const ok = await fetch(`http://127.0.0.1:${hop2}/`).then((r) => r.ok, () => false);
    if (ok) return { proc, hop1, hop2 };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill("SIGKILL");
  throw new Error("nginx did not start");
}

/**
 * Two floor processes (`script`: _node-relay.js or _node-h2-proxy.js) where a sidecar pair stands:
 * B takes mTLS and forwards in plaintext to `appPort`, A takes plaintext and forwards over mTLS
 * to B. Returns A's port and both pids.
 */
async function floorPair(script: string, appPort: number, certs: { cert: string; key: string; ca: string }): Promise<{ port: number; pids: number[] }> {
  const start = async (listenTls: boolean, port: number, targetTls: boolean) => {
    const args = [join(here, script), listenTls ? "1" : "0", String(port), targetTls ? "1" : "0", certs.cert, certs.key, certs.ca];
    const p = await spawnWithPort(args, { env: { ...process.env, ...sidecarEnv() } });
    children.push(p.proc);
    return p;
  };
  const b = await start(true, appPort, false);
  const a = await start(false, b.port, true);
  return { port: a.port, pids: [a.proc.pid!, b.proc.pid!] };
}

interface Target {
  name: string;
  url: string;
  host?: string;
  /** Sidecar processes on this path, for RSS/CPU. */
  pids: number[];
}

interface Row {
  name: string;
  wrk: WrkResult & { rounds: number[] };
  fixed: HeyResult;
  sidecars?: { rssMb: number[]; cpuCoresPer1000Rps: number[] };
}

async function throughput(t: Target): Promise<WrkResult> {
  await wrk(t.url, t.host, 1, 4); // warm-up: JIT, pools, TLS sessions
  const w = await wrk(t.url, t.host, WRK_SECONDS, CONNECTIONS);
  log(`${t.name}: wrk ${WRK_SECONDS}s c=${CONNECTIONS}: ${w.rps} rps`);
  return w;
}

async function measure(t: Target, rounds: WrkResult[]): Promise<Row> {
  const best = rounds.reduce((x, y) => (y.rps > x.rps ? y : x));
  const w = { ...best, errors: rounds.reduce((n, r) => n + r.errors, 0), rounds: rounds.map((r) => r.rps) };
  log(`${t.name}: hey ${FIXED_RPS} rps for ${HEY_SECONDS}s`);
  const cpu0 = t.pids.map(cpuSeconds);
  const t0 = performance.now();
  const h = await hey(t.url, t.host, HEY_SECONDS, HEY_WORKERS, FIXED_RPS / HEY_WORKERS);
  const elapsed = (performance.now() - t0) / 1000;
  const row: Row = { name: t.name, wrk: w, fixed: h };
  if (t.pids.length > 0) {
    const cores = t.pids.map((pid, i) => (cpuSeconds(pid) - cpu0[i]!) / elapsed);
    row.sidecars = { rssMb: t.pids.map(rssMb), cpuCoresPer1000Rps: cores.map((c) => round((c * 1000) / Math.max(1, h.rps))) };
  }
  log(`${t.name}: p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms${row.sidecars ? `, sidecars ${JSON.stringify(row.sidecars)}` : ""}`);
  return row;
}

const dir = mkdtempSync(join(tmpdir(), "tsmesh-bench-dataplane-"));
const pki = createTestPki("bench");
const children: ChildProcess[] = [];
const sidecars: SidecarProcess[] = [];
try {
  const app = await spawnWithPort([join(here, "_bench-app.js")]);
  children.push(app.proc);
  const ngx = await nginx(dir, app.port);
  children.push(ngx.proc);
  // The default MeshConfig (tracing sampling 0.01, access log off) except PERMISSIVE, which the
  // plaintext 1-hop target needs; the pair still talks mTLS (sidecars always originate it).
  const quiet = { meshConfig: { trustDomain: "cluster.local", mtls: "PERMISSIVE" as const, logLevel: "info" as const } };
  const b = await startSidecarProcess({ service: "b", appPort: app.port, certs: pki.issue("b"), dir, snapshot: snapshotOf(quiet) });
  sidecars.push(b);
  // The h2c app listens on its own port, so HTTP/2 goes to a second service.
  const b2 = await startSidecarProcess({ service: "b2", appPort: app.ports[1]!, certs: pki.issue("b2"), dir, snapshot: snapshotOf(quiet) });
  sidecars.push(b2);
  const a = await startSidecarProcess({
    service: "a",
    appPort: 1,
    certs: pki.issue("a"),
    dir,
    snapshot: snapshotOf({ ...quiet, endpoints: { b: endpointsAt("b", [b.inbound]), b2: endpointsAt("b2", [b2.inbound]) } }),
  });
  sidecars.push(a);
  const pidA = a.proc.pid!;
  const pidB = b.proc.pid!;
  // The Node floors, with the sidecars' heap settings: bytes only, and HTTP/2 to the h2c app port.
  const floorCerts = pki.issue("relay");
  const relay = await floorPair("_node-relay.js", app.port, floorCerts);
  const h2Proxy = await floorPair("_node-h2-proxy.js", app.ports[1]!, floorCerts);
  const targets: Target[] = [
    { name: "direct", url: `http://127.0.0.1:${app.port}/`, pids: [] },
    { name: "nginx-1hop", url: `http://127.0.0.1:${ngx.hop1}/`, pids: [] },
    { name: "nginx-2hop", url: `http://127.0.0.1:${ngx.hop2}/`, pids: [] },
    { name: "sidecar-1hop", url: `http://127.0.0.1:${b.inbound}/`, host: "b", pids: [pidB] },
    { name: "sidecar-pair-mtls", url: `http://127.0.0.1:${a.outbound}/`, host: "b", pids: [pidA, pidB] },
    { name: "node-relay-pair-mtls", url: `http://127.0.0.1:${relay.port}/`, pids: relay.pids },
  ];
  const rounds = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < ROUNDS; i++) for (const t of targets) rounds.get(t.name)!.push(await throughput(t));
  const rows: Record<string, Row> = {};
  for (const t of targets) rows[t.name] = await measure(t, rounds.get(t.name)!);
  const h2: Record<string, H2loadResult> = {};
  for (const [name, url, authority] of [
    ["direct-h2c", `http://127.0.0.1:${app.ports[1]}/`, undefined],
    ["sidecar-pair-mtls-h2", `http://127.0.0.1:${a.outbound}/`, "b2"],
    ["node-h2-proxy-pair-mtls", `http://127.0.0.1:${h2Proxy.port}/`, undefined],
  ] as [string, string, string | undefined][]) {
    log(`${name}: h2load ${WRK_SECONDS}s c=4 m=8`);
    await h2load(url, authority, 1, 2, 4);
    h2[name] = await h2load(url, authority, WRK_SECONDS, 4, 8);
    log(`${name}: ${JSON.stringify(h2[name])}`);
  }
  // Tracing at 100% sampling vs 0 on the same sidecar pair (issue: overhead reported here); its
  // own processes, OTLP receiver in-process, hot-switched sampling (test/bench/tracing.ts).
  log(`tracing: sampling 0 vs 1, ${Math.min(ROUNDS, 2)} round(s)`);
  const tracingOut = await run(process.execPath, [join(here, "tracing.js"), String(WRK_SECONDS), String(HEY_SECONDS), String(Math.min(ROUNDS, 2))], (ROUNDS * 4 * (WRK_SECONDS + HEY_SECONDS) + 120) * 1000);
  const tracing = JSON.parse(tracingOut.trim().split("\n").pop()!) as Record<string, unknown>;
  const r = (k: string) => rows[k]!;
  const ratio = (x: number, y: number) => round(x / y);
  const addedP99 = (k: string) => round(r(k).fixed.p99Ms - r("direct").fixed.p99Ms);
  const pair = r("sidecar-pair-mtls").sidecars!;
  const floor = r("node-relay-pair-mtls").sidecars!;
  const summary = {
    bench: "dataplane",
    wrk: { seconds: WRK_SECONDS, connections: CONNECTIONS, rounds: ROUNDS, counted: "best round" },
    fixedRate: { rps: FIXED_RPS, seconds: HEY_SECONDS, workers: HEY_WORKERS },
    configs: {
      nginx: "worker_processes 1; plain proxy_pass, HTTP/1.1 upstream keepalive 64, access_log off",
      sidecar: { meshConfig: quiet.meshConfig, tracingSampling: "default 0.01", accessLog: "default off", process: "one Node.js thread" },
      load: `wrk -t1 -c${CONNECTIONS} (same host); hey -c ${HEY_WORKERS} -q ${FIXED_RPS / HEY_WORKERS} (fixed ${FIXED_RPS} rps)`,
    },
    results: rows,
    http2: {
      clients: 4,
      streamsPerClient: 8,
      results: h2,
      sidecarPairVsDirectRps: round(h2["sidecar-pair-mtls-h2"]!.rps / h2["direct-h2c"]!.rps),
      sidecarPairVsNodeH2ProxyPairRps: round(h2["sidecar-pair-mtls-h2"]!.rps / h2["node-h2-proxy-pair-mtls"]!.rps),
    },
    ratios: {
      sidecar1hopVsNginx1hopRps: ratio(r("sidecar-1hop").wrk.rps, r("nginx-1hop").wrk.rps),
      sidecarPairVsNginx2hopRps: ratio(r("sidecar-pair-mtls").wrk.rps, r("nginx-2hop").wrk.rps),
      sidecarPairVsDirectRps: ratio(r("sidecar-pair-mtls").wrk.rps, r("direct").wrk.rps),
    },
    addedP99MsAt1000Rps: {
      "nginx-1hop": addedP99("nginx-1hop"),
      "nginx-2hop": addedP99("nginx-2hop"),
      "sidecar-1hop": addedP99("sidecar-1hop"),
      "sidecar-pair-mtls": addedP99("sidecar-pair-mtls"),
      "node-relay-pair-mtls": addedP99("node-relay-pair-mtls"),
    },
    // What the sidecar pair costs over the least a Node.js pair costs here (same run).
    nodeFloor: {
      relayRssMb: Math.max(...floor.rssMb),
      relayCpuCoresPer1000Rps: Math.max(...floor.cpuCoresPer1000Rps),
      sidecarPairVsRelayAddedP99: ratio(addedP99("sidecar-pair-mtls"), Math.max(0.01, addedP99("node-relay-pair-mtls"))),
      sidecarVsRelayRss: ratio(Math.max(...pair.rssMb), Math.max(...floor.rssMb)),
    },
    // The sidecars run with the deployment's heap settings (test/harness adds them to their env).
    sidecarEnv: sidecarEnv(),
    tracing100pct: { sampling0: tracing.sampling0, sampling1: tracing.sampling1, overhead: tracing.overheadAt100pct, errors: tracing.errors },
    sidecarRssMb: Math.max(...pair.rssMb),
    sidecarCpuCoresPer1000Rps: Math.max(...pair.cpuCoresPer1000Rps),
    targets: {
      sidecar1hopVsNginxRps: ">= 0.6",
      pairAddedP99VsTwoNginxHops: "<=",
      sidecarRssMb: "<= 60",
      sidecarCpuCoresPer1000Rps: "<= 0.2",
    },
    met: {
      throughput: r("sidecar-1hop").wrk.rps >= 0.6 * r("nginx-1hop").wrk.rps,
      latency: addedP99("sidecar-pair-mtls") <= addedP99("nginx-2hop"),
      rss: Math.max(...pair.rssMb) <= 60,
      cpu: Math.max(...pair.cpuCoresPer1000Rps) <= 0.2,
    },
  };
  console.log(JSON.stringify(summary));
} finally {
  await Promise.all(sidecars.map((s) => s.stop()));
  for (const c of children) c.kill("SIGTERM");
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
