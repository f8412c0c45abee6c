// Sidecars of the demo as real `tsmesh sidecar` processes (the same binary users run): each gets
// a one-time token from the API, its certificate from the CA and its config from the push stream.
// Separate processes rather than in-process sidecars so the demo shows the real deployment shape
// (one proxy per instance, mTLS between processes) and a sidecar crash cannot take the demo down.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../net/free-port.js";
import { sidecarEnv } from "../sidecar-node-options.js";

/** The CLI entry next to this file once built (dist/shared/demo -> dist/shared/cli/main.js). */
export const CLI_ENTRY = fileURLToPath(new URL("../cli/main.js", import.meta.url));

export interface DemoSidecar {
  name: string;
  service: string;
  ports: { inbound: number; outbound: number; admin: number };
  proc: ChildProcess;
  logs(): string;
  stop(graceMs?: number): Promise<void>;
}

export interface DemoSidecarSpec {
  name: string;
  service: string;
  appPort: number;
  labels?: Record<string, string>;
  controlPlane: string;
  caBundle: string;
  token: string;
  /** Where the sidecar keeps its last-known-good config (inside the demo's temp dir). */
  configCache: string;
}

export async function spawnSidecar(spec: DemoSidecarSpec): Promise<DemoSidecar> {
  const ports = { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
  const args = [CLI_ENTRY, "sidecar", "--service", spec.service, "--app-port", String(spec.appPort), "--bind", "127.0.0.1"];
  args.push("--inbound-port", String(ports.inbound), "--outbound-port", String(ports.outbound), "--admin-port", String(ports.admin));
  args.push("--control-plane", spec.controlPlane, "--ca-bundle", spec.caBundle, "--drain-timeout", "2000");
  args.push("--config-cache", spec.configCache);
  if (spec.labels) args.push("--labels", Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`).join(","));
  // The token goes by environment, not argv: other local users can read process arguments.
  const proc = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...sidecarEnv(), TSMESH_BOOTSTRAP_TOKEN: spec.token, TSMESH_LOG_LEVEL: process.env.TSMESH_LOG_LEVEL ?? "warn" },
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-64_000);
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    name: spec.name,
    service: spec.service,
    ports,
    proc,
    logs: () => stderr,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Spawns a sidecar and waits for /ready. freePort() only finds a port that was free a moment
 * ago (another process, or an outgoing connection's local port, may take it first), so a sidecar
 * that exits with EADDRINUSE is started again on new ports with a new token, up to 3 times.
 */
export async function startReadySidecar(
  spec: Omit<DemoSidecarSpec, "token">,
  token: () => Promise<string>,
  timeoutMs: number,
  /** Told of every process spawned, so the caller can stop it whatever happens here. */
  track: (s: DemoSidecar) => void,
): Promise<DemoSidecar> {
  for (let attempt = 1; ; attempt++) {
    const s = await spawnSidecar({ ...spec, token: await token() });
    track(s);
    try {
      await waitAllReady([s], timeoutMs);
      return s;
    } catch (err) {
      await s.stop(1000);
      if (attempt >= 3 || !s.logs().includes("EADDRINUSE")) throw err;
    }
  }
}

/** Polls /ready (certificate + config) for every sidecar; throws with the sidecar's logs on timeout or exit. */
export async function waitAllReady(sidecars: DemoSidecar[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(sidecars);
  while (pending.size > 0) {
    for (const s of [...pending]) {
      if (s.proc.exitCode !== null) throw new Error(`sidecar ${s.name} exited with ${s.proc.exitCode}:\n${s.logs().slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${s.ports.admin}/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) pending.delete(s);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`sidecars not ready after ${timeoutMs} ms: ${[...pending].map((s) => s.name).join(", ")}\n${[...pending][0]!.logs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
