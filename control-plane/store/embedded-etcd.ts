import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../shared/net/free-port.js";
import type { EtcdCertSet, EtcdClientTls } from "./etcd-certs.js";

export interface EtcdProcess {
  /** Client URL, e.g. http://127.0.0.1:23791 (https:// with `tls`). */
  endpoint: string;
  /** With `tls`: what a client must present (the set's CA and client certificate). */
  clientTls?: EtcdClientTls;
  dataDir: string;
  /** Stops the process (SIGTERM then SIGKILL); the data dir is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir. */
  start(): Promise<void>;
  /** Stops it and removes the data dir when it was created by us. */
  destroy(): Promise<void>;
  /** Sends a signal to the running process (tests: SIGSTOP/SIGCONT to stall it, SIGKILL to crash it). */
  signal(sig: NodeJS.Signals): void;
}

export interface EtcdOptions {
  dataDir?: string;
  clientPort?: number;
  binary?: string;
  /** Emitted lines of etcd's own log; silent by default. */
  onLog?: (line: string) => void;
  /**
   * Serve TLS on the client and peer ports and require a client certificate signed by the set's
   * CA on both (control-plane/store/etcd-certs.ts). Without it etcd is plaintext and open to
   * anyone on loopback: for the test harness only.
   */
  tls?: EtcdCertSet;
}

/** etcd's /health answer, over TLS with the client certificate when there is one. */
function health(endpoint: string, tls: EtcdClientTls | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = `${endpoint}/health`;
    const done = (res: http.IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    };
    const req = tls ? https.get(url, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, servername: tls.serverName, timeout: 1000 }, done) : http.get(url, { timeout: 1000 }, done);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

async function waitHealthy(endpoint: string, tls: EtcdClientTls | undefined, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    // 127: setpriv could not exec etcd (not installed), as spawn's ENOENT would say without it.
    if (child.exitCode === 127) throw new Error(`cannot start etcd: not found; install Debian's etcd-server or set TSMESH_ETCD_BIN`);
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode} before becoming healthy`);
    try {
      const body = JSON.parse(await health(endpoint, tls)) as { health?: string };
      if (body.health === "true") return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms: ${String(lastErr)}`);
}

let pdeathsig: boolean | undefined;
/**
 * etcd must not outlive the process that started it, SIGKILL of that process included (it would
 * keep the data dir locked and its ports bound). A Node parent cannot set PR_SET_PDEATHSIG on its
 * child itself, so on Linux etcd is started through util-linux `setpriv --pdeathsig TERM`, which
 * sets it and then execs etcd: same pid, so stop() and signal() still reach etcd directly, and the
 * kernel sends SIGTERM when the spawning thread dies (the main thread; a test's worker thread
 * under vitest). Without setpriv (other OSes) etcd starts bare.
 */
function withParentDeathSignal(binary: string, args: string[]): [string, string[]] {
  pdeathsig ??= process.platform === "linux" && spawnSync("setpriv", ["--pdeathsig", "TERM", "true"], { stdio: "ignore" }).status === 0;
  return pdeathsig ? ["setpriv", ["--pdeathsig", "TERM", binary, ...args]] : [binary, args];
}

/** Starts a single-member etcd on loopback, as the test harness and `tsmesh control-plane` do without --etcd. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-etcd-")));
  await fs.mkdir(dataDir, { recursive: true });
  let clientPort = opts.clientPort ?? (await freePort());
  let peerPort = await freePort();
  const scheme = opts.tls ? "https" : "http";
  let endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = () => `${scheme}://127.0.0.1:${peerPort}`;
  const binary = opts.binary ?? process.env.TSMESH_ETCD_BIN ?? "etcd";
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [
      "--name", "tsmesh",
      "--data-dir", dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peerUrl(),
      "--initial-advertise-peer-urls", peerUrl(),
      "--initial-cluster", `tsmesh=${peerUrl()}`,
      "--initial-cluster-state", "new",
      "--log-level", "error",
      "--logger", "zap",
    ];
    if (opts.tls) {
      const { caFile, certFile, keyFile } = opts.tls;
      args.push("--client-cert-auth", "--trusted-ca-file", caFile, "--cert-file", certFile, "--key-file", keyFile);
      args.push("--peer-client-cert-auth", "--peer-trusted-ca-file", caFile, "--peer-cert-file", certFile, "--peer-key-file", keyFile);
    }
    const proc = spawn(...withParentDeathSignal(binary, args), { stdio: ["ignore", "pipe", "pipe"] });
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
    await waitHealthy(endpoint, opts.tls?.client, proc, 20_000);
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
      endpoint = `${scheme}://127.0.0.1:${clientPort}`;
    }
  }
  return {
    endpoint,
    clientTls: opts.tls?.client,
    dataDir,
    start,
    stop,
    signal: (sig) => {
      child?.kill(sig);
    },
    destroy: async () => {
      await stop();
      if (ownDir) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
