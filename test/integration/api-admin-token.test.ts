// Without --token the first control plane generates the admin token: only its hash goes to
// etcd (so replicas agree), the plaintext to <data-dir>/admin-token with mode 0600.
import { afterAll, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { useEtcd } from "../harness/etcd.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { ADMIN_TOKEN_KEY, sha256Hex } from "../../control-plane/store/index.js";
import { createLogger } from "../../shared/log.js";

const etcd = useEtcd();
const planes: ControlPlane[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const cp of planes) await cp.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

it("generates one admin token shared by replicas and never logs it", async () => {
  const lines: string[] = [];
  const log = createLogger("test", { level: "info", write: (l) => lines.push(l) });
  const start = async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-admin-"));
    dirs.push(dataDir);
    const cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir, log });
    planes.push(cp);
    return cp;
  };
  const a = await start();
  const token = (await fs.readFile(a.adminTokenFile, "utf8")).trim();
  expect((await fs.stat(a.adminTokenFile)).mode & 0o777).toBe(0o600);
  expect(await a.store.etcd.get(ADMIN_TOKEN_KEY).string()).toBe(sha256Hex(token));

  const b = await start(); // second replica, own data dir, same etcd
  for (const cp of [a, b]) {
    const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/routes`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  }
  await expect(fs.access(b.adminTokenFile)).rejects.toThrow();
  expect(lines.join("\n")).not.toContain(token);
  expect(lines.join("\n")).toContain(a.adminTokenFile);
});
