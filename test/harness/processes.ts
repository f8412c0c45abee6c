// Real sidecar processes for e2e tests: `node dist/shared/cli/main.js sidecar ...` on free
// loopback ports, awaited until /ready, stopped with SIGTERM (or SIGKILL after a bound).
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../shared/net/free-port.js";
import { sidecarEnv } from "../../shared/sidecar-node-options.js";
import type { Snapshot } from "../../shared/snapshot.js";
import type { CertFiles, TestPki } from "./mesh-certs.js";

// Works from the .ts sources (vitest) and from dist/ (compiled benchmarks).
const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/dist\/$/, "/");
export const CLI = `${ROOT}dist/shared/cli/main.js`;

export interface SidecarProcess {
  service: string;
  inbound: number;
  outbound: number;
  admin: number;
  proc: ChildProcess;
  /** Everything the process wrote to stderr so far (logs). */
  logs: () => string;
  /** Rewrites the --config file and sends SIGHUP: the sidecar's hot reload without a control plane. */
  reload(snapshot: Snapshot): void;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SidecarSpec {
  service: string;
  appPort: number;
  certs?: CertFiles;
  snapshot?: Snapshot;
  /** Where to write the snapshot file. */
  dir: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

async function waitReady(admin: number, proc: ChildProcess, logs: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`sidecar exited with ${proc.exitCode}: ${logs()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${admin}/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sidecar not ready after ${timeoutMs} ms: ${logs()}`);
}

// A test that fails half-way (a beforeAll that throws after starting some sidecars) must not
// leave sidecars running after its worker exits: CI would carry them into the next test files.
const live = new Set<ChildProcess>();
process.once("exit", () => live.forEach((p) => p.kill("SIGKILL")));
function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
}

/**
 * Starts `tsmesh sidecar` on fresh loopback ports. freePort() releases the port before the
 * sidecar binds it, so a parallel test file can take it in between: on EADDRINUSE the start is
 * tried again on new ports (callers read the ports from the result).
 */
export async function startSidecarProcess(spec: SidecarSpec): Promise<SidecarProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(spec);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes("EADDRINUSE")) throw err;
    }
  }
}

async function startOnce(spec: SidecarSpec): Promise<SidecarProcess> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const args = [CLI, "sidecar", "--service", spec.service, "--app-port", String(spec.appPort), "--bind", "127.0.0.1"];
  args.push("--inbound-port", String(inbound), "--outbound-port", String(outbound), "--admin-port", String(admin));
  if (spec.certs) args.push("--cert", spec.certs.cert, "--key", spec.certs.key, "--ca", spec.certs.ca);
  const configFile = join(spec.dir, `${spec.service}-${inbound}.json`);
  if (spec.snapshot) {
    writeFileSync(configFile, JSON.stringify(spec.snapshot));
    args.push("--config", configFile);
  }
  // No drain period unless a test asks for one: every SIGTERM stop would otherwise take 5 s.
  if (!spec.extraArgs?.includes("--drain-duration")) args.push("--drain-duration", "0");
  args.push(...(spec.extraArgs ?? []));
  // Last-known-good config and cached certificate + key in the test's dir (removed with it), not
  // the temp dir's default; a --config-cache in extraArgs still wins.
  const cache = { TSMESH_CONFIG_CACHE: join(spec.dir, `${spec.service}-${inbound}-cache.json`) };
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TSMESH_LOG_LEVEL: "warn", ...sidecarEnv(), ...cache, ...spec.env } });
  track(proc);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 1_000_000) stderr += d.toString();
  });
  const logs = () => stderr;
  try {
    await waitReady(admin, proc, logs);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return {
    service: spec.service,
    inbound,
    outbound,
    admin,
    proc,
    logs,
    reload(snapshot) {
      writeFileSync(configFile, JSON.stringify(snapshot));
      proc.kill("SIGHUP");
    },
    stop(signal = "SIGTERM") {
      if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        const kill = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        proc.once("exit", (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        proc.kill(signal);
      });
    },
  };
}

/**
 * A sidecar with `service`'s certificate from the test PKI and its --config file in the PKI's
 * dir: the usual mTLS e2e set-up, where only the app port and the snapshot differ (a client-only
 * sidecar passes appPort 1; no snapshot means an empty one).
 */
export function startPkiSidecar(
  pki: TestPki,
  service: string,
  appPort: number,
  snapshot: Snapshot = snapshotOf({}),
  more: Pick<SidecarSpec, "extraArgs" | "env"> = {},
): Promise<SidecarProcess> {
  return startSidecarProcess({ service, appPort, certs: pki.issue(service), dir: pki.dir, snapshot, ...more });
}

/** A minimal valid snapshot: endpoints by service (sidecar inbound ports on 127.0.0.1). */
export function snapshotOf(parts: Partial<Snapshot> & { endpoints?: Snapshot["endpoints"] }): Snapshot {
  return {
    version: parts.version ?? "1",
    meshConfig: parts.meshConfig ?? { trustDomain: "cluster.local", mtls: "STRICT", logLevel: "warn" },
    routes: parts.routes ?? [],
    policies: parts.policies ?? [],
    authz: parts.authz ?? [],
    endpoints: parts.endpoints ?? {},
    trustBundle: parts.trustBundle ?? [],
  };
}

/** Endpoint records for `service` at the given sidecar inbound ports. */
export function endpointsAt(service: string, ports: number[]): Snapshot["endpoints"][string] {
  return ports.map((port, i) => ({ service, instanceId: `${service}-${i}`, address: "127.0.0.1", port, labels: {} }));
}
