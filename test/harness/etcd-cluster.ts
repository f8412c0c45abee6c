// A 3-member etcd cluster on free loopback ports, for tests that lose a member or the leader.
// Each member is its own `etcd` process with its own data dir; leader() asks every live member
// for its maintenance status (etcd3's Status RPC) and returns the one that leads.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Etcd3 } from "etcd3";
import { freePort } from "../../shared/net/free-port.js";

export interface EtcdMember {
  name: string;
  clientUrl: string;
  proc: ChildProcess;
  alive(): boolean;
}

export interface EtcdCluster {
  /** Client URLs of every member (give all of them to the control plane). */
  endpoints: string[];
  members: EtcdMember[];
  /** The member that leads now (asked of every live member; retried through an election). */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** SIGKILL: the member dies without a word, as a crashed node does. */
  kill(member: EtcdMember): Promise<void>;
  destroy(): Promise<void>;
}

// Members of a test whose worker exits early must not outlive it.
const live = new Set<ChildProcess>();
process.once("exit", () => live.forEach((p) => p.kill("SIGKILL")));

async function memberStatus(url: string): Promise<{ leader: string; self: string } | undefined> {
  const client = new Etcd3({ hosts: url, dialTimeout: 1000, defaultCallOptions: { deadline: Date.now() + 1000 } });
  try {
    const s = await client.maintenance.status();
    return { leader: String(s.leader), self: String(s.header.member_id) };
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

async function healthy(url: string, proc: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd member exited with code ${proc.exitCode}`);
    const body = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.json() as Promise<{ health?: string }>)
      .catch(() => undefined);
    if (body?.health === "true") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd member at ${url} not healthy in time`);
}

export async function startEtcdCluster(size = 3, binary = process.env.TSMESH_ETCD_BIN ?? "etcd"): Promise<EtcdCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-etcd-cluster-"));
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const names = ports.map((_, i) => `m${i}`);
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]!.peer}`).join(",");
  const members: EtcdMember[] = names.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[i]!.client}`;
    const peerUrl = `http://127.0.0.1:${ports[i]!.peer}`;
    const args = [
      "--name", name,
      "--data-dir", path.join(root, name),
      "--listen-client-urls", clientUrl,
      "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", initialCluster,
      "--initial-cluster-token", path.basename(root),
      "--initial-cluster-state", "new",
      "--log-level", "error",
      "--logger", "zap",
    ];
    const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "ignore"] });
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    return { name, clientUrl, proc, alive: () => proc.exitCode === null && proc.signalCode === null };
  });
  const stopAll = async () => {
    await Promise.all(
      members.map(async (m) => {
        if (!m.alive()) return;
        const exited = new Promise((r) => m.proc.once("exit", r));
        m.proc.kill("SIGKILL");
        await exited;
      }),
    );
    await fs.rm(root, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    await Promise.all(members.map((m) => healthy(m.clientUrl, m.proc, deadline)));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    endpoints: members.map((m) => m.clientUrl),
    members,
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const m of members.filter((x) => x.alive())) {
          const s = await memberStatus(m.clientUrl);
          if (s && s.leader !== "0" && s.leader === s.self) return m;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no etcd leader within ${timeoutMs} ms`);
    },
    async kill(member) {
      if (!member.alive()) return;
      const exited = new Promise((r) => member.proc.once("exit", r));
      member.proc.kill("SIGKILL");
      await exited;
    },
    destroy: stopAll,
  };
}
