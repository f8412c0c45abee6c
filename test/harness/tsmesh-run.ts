// `tsmesh run` as a real process (the built CLI) against a control plane on loopback, with free
// ports for its listeners, for the e2e tests of run.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "../../shared/net/free-port.js";
import { CLI } from "./processes.js";

export interface RunControlPlane {
  apiPort: number;
  grpcPort: number;
}

export interface RunSpec {
  cp: RunControlPlane;
  /** Holds certs/bundle.crt (the control plane's data dir). */
  dir: string;
  adminToken: string;
  service: string;
  appPort: number;
  /** The app's command line. */
  command: string[];
  /** Flags after the defaults (e.g. ["--token", T]). */
  extra?: string[];
  /** Default ["--bind", "127.0.0.1"]; [] to test run's own default. */
  bind?: string[];
  env?: NodeJS.ProcessEnv;
  /** Variables removed from the inherited environment. */
  dropEnv?: string[];
  /** Every process started is pushed here, for afterAll to kill. */
  procs: ChildProcess[];
}

export interface RanProcess {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
  admin: number;
  inbound: number;
}

export async function startTsmeshRun(s: RunSpec): Promise<RanProcess> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const args = [CLI, "run", "--service", s.service, "--app-port", String(s.appPort), ...(s.bind ?? ["--bind", "127.0.0.1"])];
  args.push("--inbound-port", String(inbound), "--outbound-port", String(outbound), "--admin-port", String(admin));
  args.push("--control-plane", `127.0.0.1:${s.cp.grpcPort}`, "--ca-bundle", path.join(s.dir, "certs", "bundle.crt"), ...(s.extra ?? []));
  args.push("--", ...s.command);
  const env: NodeJS.ProcessEnv = { ...process.env, TSMESH_API: `http://127.0.0.1:${s.cp.apiPort}`, TSMESH_TOKEN: s.adminToken, TSMESH_LOG_LEVEL: "warn", ...s.env };
  for (const v of s.dropEnv ?? []) delete env[v];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
  s.procs.push(proc);
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exit, admin, inbound };
}

/** Until the run's sidecar answers /ready 200; throws with its stderr if it exits or 30 s pass. */
export async function untilRunReady(r: RanProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`http://127.0.0.1:${r.admin}/ready`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline || r.proc.exitCode !== null) throw new Error(`not ready: ${r.err()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
