// Load generators and process probes for the data-plane benchmarks: wrk (max throughput), hey at
// a fixed rate (latency percentiles), /proc for a process's CPU time and RSS.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} failed: ${err.message} ${stderr}`)) : resolve(stdout),
    ),
  );
}

export interface WrkResult {
  rps: number;
  errors: number;
}

export async function wrk(url: string, host: string | undefined, seconds: number, connections: number): Promise<WrkResult> {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`];
  if (host) args.push("-H", `Host: ${host}`);
  const out = await run("wrk", [...args, url], (seconds + 15) * 1000);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  return { rps: Math.round(rps), errors };
}

export interface HeyResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Fixed total rate: `workers` x `perWorkerQps` for `seconds`. */
export async function hey(url: string, host: string | undefined, seconds: number, workers: number, perWorkerQps: number): Promise<HeyResult> {
  const args = ["-z", `${seconds}s`, "-c", String(workers), "-q", String(perWorkerQps)];
  if (host) args.push("-host", host);
  const out = await run("hey", [...args, url], (seconds + 20) * 1000);
  const pct = (p: number) => Number(new RegExp(`${p}% in ([\\d.]+) secs`).exec(out)?.[1] ?? NaN) * 1000;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const codes = [...out.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)];
  const errors = codes.filter((m) => m[1] !== "200").reduce((s, m) => s + Number(m[2]), 0) + (/Error distribution:/.test(out) ? 1 : 0);
  return { rps: Math.round(rps), p50Ms: round(pct(50)), p99Ms: round(pct(99)), errors };
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** utime+stime in seconds of a process (and its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? round(Number(m[1]) / 1024, 1) : NaN;
}

export interface H2loadResult {
  rps: number;
  meanMs: number;
  errors: number;
}

/** HTTP/2 prior knowledge (h2c): `clients` connections x `streams` concurrent streams each. */
export async function h2load(url: string, authority: string | undefined, seconds: number, clients: number, streams: number): Promise<H2loadResult> {
  const args = ["-D", String(seconds), "-c", String(clients), "-m", String(streams), "-t", "1"];
  if (authority) args.push("-H", `:authority: ${authority}`);
  const out = await run("h2load", [...args, url], (seconds + 20) * 1000);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const meanMs = parseTime(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const non2xx = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const errors = (failed ? Number(failed[1]) + Number(failed[2]) : 0) + (non2xx ? Number(non2xx[1]) + Number(non2xx[2]) + Number(non2xx[3]) : 0);
  return { rps: Math.round(rps), meanMs: meanMs, errors };
}

function parseTime(text: string | undefined): number {
  if (!text) return NaN;
  const v = Number.parseFloat(text);
  if (text.endsWith("us")) return round(v / 1000);
  if (text.endsWith("ms")) return round(v);
  return round(v * 1000);
}

/** Spawns a node script that prints its port(s) as the first stdout line. */
export function spawnWithPort(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ proc: ChildProcess; port: number; ports: number[] }> {
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: opts.env ?? process.env });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} printed no port`)), 10_000);
    createInterface({ input: proc.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      const ports = line.trim().split(/\s+/).map(Number);
      resolve({ proc, port: ports[0]!, ports });
    });
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
}
