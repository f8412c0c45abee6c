// `tsmesh control-plane` processes for e2e tests (replicas sharing etcd and one CA dir) and
// `tsmesh sidecar` processes joined to them with a bootstrap token from the REST API.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "../../shared/net/free-port.js";
import { apiToken, until } from "../integration/push-harness.js";
import { CLI, startSidecarProcess, type SidecarProcess } from "./processes.js";

export interface ControlPlaneProcess {
  id: string;
  api: number;
  grpc: number;
  proc: ChildProcess;
  logs: () => string;
  /** SIGTERM (SIGKILL after 8 s); resolves when it exited. */
  stop(): Promise<void>;
}

export interface ControlPlaneSpec {
  id: string;
  etcd: string[];
  /** Parent of the replica's data dir. */
  dir: string;
  /** CA dir shared by every replica (initCaDir). */
  caDir: string;
  admin: string;
  env?: Record<string, string>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => live.forEach((p) => p.kill("SIGKILL")));

export async function startControlPlaneProcess(spec: ControlPlaneSpec): Promise<ControlPlaneProcess> {
  const [api, grpc] = [await freePort(), await freePort()];
  const args = [CLI, "control-plane", "--etcd", spec.etcd.join(","), "--api-port", String(api), "--grpc-port", String(grpc), "--data-dir", path.join(spec.dir, spec.id), "--token", spec.admin];
  const proc = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, TSMESH_CA_DIR: spec.caDir, TSMESH_REPLICA_ID: spec.id, TSMESH_LOG_LEVEL: "warn", ...spec.env },
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  await until(`${spec.id} ready`, async () => {
    if (proc.exitCode !== null) throw new Error(`${spec.id} exited: ${stderr}`);
    const res = await fetch(`http://127.0.0.1:${api}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 30_000, 100);
  return {
    id: spec.id,
    api,
    grpc,
    proc,
    logs: () => stderr,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise((resolve) => {
        const t = setTimeout(() => proc.kill("SIGKILL"), 8000);
        proc.once("exit", () => {
          clearTimeout(t);
          resolve(undefined);
        });
        proc.kill("SIGTERM");
      });
    },
  };
}

/** `tsmesh sidecar` for `service`, joined to the replicas (in this order) with a fresh bootstrap token. */
export async function startJoinedSidecar(
  replicas: ControlPlaneProcess[],
  opts: { service: string; appPort: number; dir: string; admin: string; caDir: string; extraArgs?: string[] },
): Promise<SidecarProcess> {
  const token = await apiToken(replicas[0]!.api, opts.admin, opts.service);
  return startSidecarProcess({
    service: opts.service,
    appPort: opts.appPort,
    dir: opts.dir,
    extraArgs: [
      "--control-plane", replicas.map((r) => `127.0.0.1:${r.grpc}`).join(","),
      "--token", token,
      "--ca-bundle", path.join(opts.caDir, "bundle.crt"),
      ...(opts.extraArgs ?? []),
    ],
  });
}
