import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../shared/net/free-port.js";

export interface EtcdProcess {
  /** Client URL, e.g. http://127.0.0.1:23791 */
  endpoint: string;
  dataDir: string;
  /** Stops the process (SIGTERM then SIGKILL); the data dir is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir. */
  start(): Promise<void>;
  /** Stops it and removes the data dir when it was created by us. */
  destroy(): Promise<void>;
}

export interface EtcdOptions {
  dataDir?: string;
  clientPort?: number;
  binary?: string;
  /** Emitted lines of etcd's own log; silent by default. */
  onLog?: (line: string) => void;
}

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode} before becoming healthy`);
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === "true") return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms: ${String(lastErr)}`);
}

/** Starts a single-member etcd on loopback, as the test harness and `tsmesh control-plane` do without --etcd. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-etcd-")));
  await fs.mkdir(dataDir, { recursive: true });
  let clientPort = opts.clientPort ?? (await freePort());
  let peerPort = await freePort();
  let endpoint = `http://127.0.0.1:${clientPort}`;
  const binary = opts.binary ?? process.env.TSMESH_ETCD_BIN ?? "etcd";
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [
      "--name", "tsmesh",
      "--data-dir", dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
      "--initial-cluster", `tsmesh=http://127.0.0.1:${peerPort}`,
      "--initial-cluster-state", "new",
      "--log-level", "error",
      "--logger", "zap",
    ];
    const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    const onData = (buf: Buffer) => {
      if (opts.onLog) for (const line of buf.toString().split("\n")) if (line) opts.onLog(line);
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once("error", (err) => reject(new Error(`cannot start etcd (${binary}): ${err.message}; install Debian's etcd-server`)));
      proc.once("spawn", () => resolve());
    });
    await spawned;
    await waitHealthy(endpoint, proc, 20_000);
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  // freePort() releases its port before etcd binds it; another process can take it in between.
  // etcd then exits at once: with ports and a data dir of our own, try again on fresh ones.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      const exitedEarly = /exited with code/.test((err as Error).message);
      if (attempt >= 3 || !exitedEarly || !ownDir || opts.clientPort !== undefined) throw err;
      await fs.rm(dataDir, { recursive: true, force: true });
      await fs.mkdir(dataDir, { recursive: true });
      clientPort = await freePort();
      peerPort = await freePort();
      endpoint = `http://127.0.0.1:${clientPort}`;
    }
  }
  return {
    endpoint,
    dataDir,
    start,
    stop,
    destroy: async () => {
      await stop();
      if (ownDir) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
