// Config push at fleet scale: one `tsmesh control-plane` process on a real etcd, N simulated
// sidecars (xds clients with mTLS, a handful of identities, one process), W route writes. For each
// write: time from the etcd write to the last sidecar's ACK. Prints one JSON line with p50/p99
// over the writes, per-ACK latency percentiles and the control plane's RSS.
// Usage: node dist/test/bench/push.js [sidecars=1000] [writes=10] [maxSeconds=120]
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { initCaDir, loadBundle } from "../../control-plane/ca/index.js";
import { createStore, startEtcd } from "../../control-plane/store/index.js";
import { freePort } from "../../shared/net/free-port.js";
import { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { XdsClient } from "../../sidecar/xds/index.js";

const TARGET_P99_MS = 1000;
const sidecars = Math.max(1, Number(process.argv[2] ?? 1000));
const writes = Math.max(1, Number(process.argv[3] ?? 10));
const maxSeconds = Math.max(10, Number(process.argv[4] ?? 120));
const SERVICES = ["web", "reviews", "ratings", "details", "payments"];
const ADMIN = "bench-admin-token";
const CLI = fileURLToPath(new URL("../../shared/cli/main.js", import.meta.url));

const hardStop = setTimeout(() => {
  console.error(`push bench: exceeded ${maxSeconds}s, aborting`);
  process.exit(2);
}, maxSeconds * 1000);
hardStop.unref();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
async function until(what: string, fn: () => boolean, timeoutMs: number, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
/** utime + stime of a process, in seconds (clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-bench-push-"));
const etcd = await startEtcd();
const caDir = path.join(tmp, "ca");
await initCaDir(caDir);
const [apiPort, grpcPort] = [await freePort(), await freePort()];
// TSMESH_BENCH_CP_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the control plane.
const nodeArgs = (process.env.TSMESH_BENCH_CP_NODE_ARGS ?? "").split(" ").filter(Boolean);
const cp = spawn(process.execPath, [...nodeArgs, CLI, "control-plane", "--etcd", etcd.endpoint, "--api-port", String(apiPort), "--grpc-port", String(grpcPort), "--data-dir", path.join(tmp, "cp"), "--token", ADMIN], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, TSMESH_CA_DIR: caDir, TSMESH_LOG_LEVEL: "error", TSMESH_REPLICA_ID: "bench" },
});
const clients: XdsClient[] = [];
const identities: WorkloadIdentity[] = [];
const store = createStore({ endpoints: [etcd.endpoint] });

try {
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${apiPort}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (cp.exitCode !== null || i > 200) throw new Error("control plane did not start");
    await sleep(100);
  }
  const bundle = await loadBundle(path.join(caDir, "bundle.crt"));
  for (const service of SERVICES) {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ service }),
    });
    const { token } = (await res.json()) as { token: string };
    const wi = new WorkloadIdentity({ service, controlPlane: `127.0.0.1:${grpcPort}`, trustBundlePem: bundle, token });
    await wi.start();
    identities.push(wi);
  }
  const rssIdle = await rssMb(cp.pid!);

  // Latest applied version per sidecar and when it was applied (the ACK is sent right after).
  const appliedAt: Array<Map<string, number>> = [];
  const connectStart = performance.now();
  for (let i = 0; i < sidecars; i++) {
    const wi = identities[i % identities.length]!;
    const seen = new Map<string, number>();
    appliedAt.push(seen);
    const c = new XdsClient({
      addresses: [`127.0.0.1:${grpcPort}`],
      node: { service: SERVICES[i % SERVICES.length]!, instanceId: `sim-${i}` },
      tls: () => wi.current(),
      apply: () => {},
      backoffBaseMs: 200,
      backoffMaxMs: 2000,
    });
    c.on("applied", (s) => seen.set(s.version, performance.now()));
    clients.push(c);
    await c.start();
    if (i % 100 === 99) await until("batch connected", () => clients.every((x) => x.connectedTo() !== undefined), 30_000, 10);
  }
  await until("all connected", () => clients.every((c) => c.connectedTo() !== undefined && c.version() !== ""), 30_000, 10);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const rssConnected = await rssMb(cp.pid!);

  const cpCpu0 = await cpuSeconds(cp.pid!);
  const selfCpu0 = process.cpuUsage();
  const perWrite: number[] = [];
  const perAck: number[] = [];
  for (let w = 0; w < writes; w++) {
    const t0 = performance.now();
    const stored = await store.put({
      apiVersion: "tsmesh.dev/v1",
      kind: "HTTPRoute",
      metadata: { name: `bench-${w % 3}` },
      spec: { hosts: ["reviews"], rules: [{ backends: [{ service: "reviews", weight: 100 - w }, { service: "ratings", weight: w + 1 }] }] },
    });
    const rev = Number(stored.metadata.resourceVersion);
    await until(`write ${w} everywhere`, () => clients.every((c) => Number(c.version()) >= rev), 15_000);
    let last = 0;
    for (const seen of appliedAt) {
      let at = Infinity;
      for (const [v, t] of seen) if (Number(v) >= rev && t < at) at = t;
      perAck.push(at - t0);
      last = Math.max(last, at);
    }
    perWrite.push(last - t0);
    await sleep(300);
  }
  const rssAfter = await rssMb(cp.pid!);
  const cpCpu = (await cpuSeconds(cp.pid!)) - cpCpu0;
  const selfCpu = process.cpuUsage(selfCpu0);
  const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const acks = Number(/^tsmesh_cp_pushes_total\{result="ack"\} (\d+)/m.exec(metrics)?.[1] ?? NaN);
  const p99 = pct(perWrite, 99);
  console.log(
    JSON.stringify({
      bench: "push",
      sidecars,
      writes,
      writeToLastAckMs: { p50: Math.round(pct(perWrite, 50)), p99: Math.round(p99), max: Math.round(Math.max(...perWrite)) },
      perAckMs: { p50: Math.round(pct(perAck, 50)), p99: Math.round(pct(perAck, 99)) },
      debounceMs: 100,
      connectSeconds: Number(connectSeconds.toFixed(2)),
      controlPlaneRssMb: { idle: rssIdle, connected: rssConnected, afterWrites: rssAfter },
      serverAcks: acks,
      // CPU spent during the write phase: control plane vs the process simulating the sidecars.
      cpuSeconds: { controlPlane: Number(cpCpu.toFixed(2)), simulatedSidecars: Number(((selfCpu.user + selfCpu.system) / 1e6).toFixed(2)) },
      targetP99Ms: TARGET_P99_MS,
      pass: p99 < TARGET_P99_MS,
      node: process.version,
      cpus: os.cpus().length,
    }),
  );
} finally {
  await Promise.all(clients.map((c) => c.stop()));
  for (const wi of identities) wi.stop();
  store.close();
  // SIGTERM first so a --cpu-prof in NODE_OPTIONS gets written; SIGKILL if it lingers.
  cp.kill("SIGTERM");
  await new Promise((r) => {
    const t = setTimeout(() => r(cp.kill("SIGKILL")), 8000);
    cp.once("exit", () => r(clearTimeout(t)));
  });
  await etcd.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
}
process.exit(0);
