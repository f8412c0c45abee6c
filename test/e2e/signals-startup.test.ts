// A signal that arrives while a process is still starting: `tsmesh control-plane` (embedded etcd
// coming up) stops its etcd child and exits 0 instead of dying by the default action with etcd
// orphaned; `tsmesh sidecar` (waiting for a CA that does not answer) closes and exits 0.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTrustAnchor } from "../../shared/pki/index.js";
import { freePort } from "../../shared/net/free-port.js";
import { CLI } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

let tmp: string;
const procs: ChildProcess[] = [];
const orphans: number[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsmesh-signals-"));
});
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const pid of orphans) if (alive(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose parent is `ppid` (Linux /proc). */
function children(ppid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function spawnCli(args: string[]): { proc: ChildProcess; logs: () => string; exited: Promise<{ code: number | null; signal: string | null }> } {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TSMESH_LOG_LEVEL: "info" } });
  procs.push(proc);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 100_000) stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  return { proc, logs: () => stderr, exited };
}

it("tsmesh control-plane: SIGTERM while embedded etcd starts stops etcd and exits 0", async () => {
  const [api, grpc] = [await freePort(), await freePort()];
  const { proc, logs, exited } = spawnCli(["control-plane", "--api-port", String(api), "--grpc-port", String(grpc), "--data-dir", path.join(tmp, "cp"), "--token", "signals-admin"]);
  // The moment the etcd child exists, startup is still in progress (etcd not healthy yet).
  const etcd = await until("etcd child spawned", () => children(proc.pid!)[0], 15_000, 5);
  orphans.push(etcd);
  proc.kill("SIGTERM");
  const res = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 20_000))]);
  expect(res, logs()).toEqual({ code: 0, signal: null });
  await until("etcd child gone", () => !alive(etcd) || undefined, 5000, 50);
  // Still starting when the signal came (etcd was not healthy yet).
  expect(logs()).toMatch(/"msg":"shutting down".*"starting":true/);
}, 40_000);

it("tsmesh sidecar: SIGTERM while waiting for the first certificate closes and exits 0", async () => {
  const bundle = path.join(tmp, "bundle.crt");
  fs.writeFileSync(bundle, createTrustAnchor({ commonName: "signals", validityMs: 3_600_000 }).certPem);
  const admin = await freePort();
  const nobody = await freePort(); // nothing listens: the CA call keeps retrying for 30 s
  const { proc, logs, exited } = spawnCli([
    "sidecar", "--service", "sig", "--app-port", "1", "--bind", "127.0.0.1",
    "--inbound-port", "0", "--outbound-port", "0", "--admin-port", String(admin),
    "--control-plane", `127.0.0.1:${nobody}`, "--token", "t", "--ca-bundle", bundle, "--config-cache", path.join(tmp, "sig-config.json"),
  ]);
  await until("admin up, still joining", async () => ((await fetch(`http://127.0.0.1:${admin}/live`).catch(() => undefined))?.status === 200 ? true : undefined), 15_000, 50);
  expect((await fetch(`http://127.0.0.1:${admin}/ready`)).status).not.toBe(200);
  const t0 = Date.now();
  proc.kill("SIGTERM");
  const res = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 10_000))]);
  expect(res, logs()).toEqual({ code: 0, signal: null });
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(logs()).toContain('"starting":true');
}, 30_000);
