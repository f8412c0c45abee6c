// `tsmesh control-plane` (dist CLI) when something is in its way: its embedded etcd dies with it
// (SIGKILL included) and the data dir is reusable; a port in use or a data dir held by another
// control plane is one line naming the flag that fixes it, exit 1, no stack trace, no etcd left.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../shared/net/free-port.js";
import { CLI } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

let tmp: string;
const procs: ChildProcess[] = [];
const etcds: number[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsmesh-cp-errors-"));
});
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const pid of etcds) if (alive(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is gone for our purposes (its parent has not reaped it yet).
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Pids of etcd processes whose parent is `ppid` (Linux /proc). */
function etcdChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (comm === "etcd" && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Cli {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function controlPlane(dataDir: string, api: number, grpc: number, extra: string[] = []): Cli {
  const proc = spawn(process.execPath, [CLI, "control-plane", "--api-port", String(api), "--grpc-port", String(grpc), "--data-dir", dataDir, "--token", "errors-admin", ...extra], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, TSMESH_LOG_LEVEL: "warn" },
  });
  procs.push(proc);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 100_000) stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  return { proc, stderr: () => stderr, exited };
}

async function ready(api: number, cli: Cli): Promise<void> {
  await until(
    "control plane ready",
    async () => {
      if (cli.proc.exitCode !== null) throw new Error(`control plane exited: ${cli.stderr()}`);
      return (await fetch(`http://127.0.0.1:${api}/readyz`).catch(() => undefined))?.ok || undefined;
    },
    30_000,
    50,
  );
}

function exitWithin(cli: Cli, ms: number) {
  return Promise.race([cli.exited, new Promise<string>((r) => setTimeout(() => r(`still running after ${ms} ms: ${cli.stderr()}`), ms))]);
}

it("embedded etcd outlived a SIGKILLed control plane (orphaned with PPID 1); now it dies with it and the data dir is reusable", async () => {
  const dataDir = path.join(tmp, "killed");
  const [api, grpc] = [await freePort(), await freePort()];
  const first = controlPlane(dataDir, api, grpc);
  await ready(api, first);
  const [etcd] = etcdChildren(first.proc.pid!);
  expect(etcd, "etcd child of the control plane").toBeTypeOf("number");
  etcds.push(etcd!);
  first.proc.kill("SIGKILL");
  await first.exited;
  await until("etcd gone after its control plane was SIGKILLed", () => !alive(etcd!) || undefined, 10_000, 25);

  const second = controlPlane(dataDir, api, grpc);
  await ready(api, second);
  etcds.push(...etcdChildren(second.proc.pid!));
  second.proc.kill("SIGTERM");
  expect(await exitWithin(second, 20_000)).toEqual({ code: 0, signal: null });
}, 90_000);

/** Pids of live etcd processes serving `dataDir` (their command line names it), whoever their parent is. */
function etcdsOf(dataDir: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (path.basename(argv[0] ?? "") === "etcd" && argv.includes(path.join(dataDir, "etcd")) && alive(Number(e))) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split("\n").filter((l) => l.startsWith("error: "));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr, "no stack trace without --debug").not.toMatch(/\n\s+at /);
}

for (const which of ["api", "grpc"] as const) {
  it(`port in use (${which}) printed a raw stack trace; now one line naming --${which}-port, exit 1, no etcd left`, async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      const dataDir = path.join(tmp, `port-${which}`);
      const other = await freePort();
      const cli = which === "api" ? controlPlane(dataDir, taken, other) : controlPlane(dataDir, other, taken);
      expect(await exitWithin(cli, 30_000)).toEqual({ code: 1, signal: null });
      expectOneLine(cli.stderr(), new RegExp(`^error: port ${taken} is in use: pass --${which}-port, or stop what listens there`));
      expect(etcdsOf(dataDir)).toEqual([]);
    } finally {
      squatter.close();
    }
  }, 60_000);
}

it("data dir held by another control plane waited 20 s and orphaned etcd; now one line naming --data-dir at once, exit 1", async () => {
  const dataDir = path.join(tmp, "held");
  const [api, grpc] = [await freePort(), await freePort()];
  const holder = controlPlane(dataDir, api, grpc);
  await ready(api, holder);
  const mine = etcdsOf(dataDir);
  const second = controlPlane(dataDir, await freePort(), await freePort());
  const t0 = Date.now();
  expect(await exitWithin(second, 30_000)).toEqual({ code: 1, signal: null });
  expect(Date.now() - t0).toBeLessThan(10_000);
  expectOneLine(second.stderr(), new RegExp(`^error: data dir .*held is in use by another control plane \\(pid ${holder.proc.pid}\\): pass --data-dir`));
  expect(etcdsOf(dataDir)).toEqual(mine); // the holder's etcd only
  holder.proc.kill("SIGTERM");
  expect(await exitWithin(holder, 20_000)).toEqual({ code: 0, signal: null });
}, 90_000);
