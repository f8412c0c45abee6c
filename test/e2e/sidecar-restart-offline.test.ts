// A sidecar restarted while the control plane is down: its one-time bootstrap token is spent and
// no CA answers, so it must start from the certificate + key and the last-known-good config it
// cached beside each other. Real processes: `tsmesh control-plane` (on the test's etcd) and two
// `tsmesh sidecar`s; the control plane is stopped, sidecar a is restarted, and a request still
// flows a -> mTLS -> b with a's cached certificate.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { request } from "undici";
import { freePort } from "../../shared/net/free-port.js";
import { serviceIdentity } from "../../shared/identity.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { useEtcd } from "../harness/etcd.js";
import { CLI, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";
import { apiToken, until } from "../integration/push-harness.js";

const etcd = useEtcd();
const ADMIN = "offline-restart-admin-token";
let tmp: string;
let app: TestApp;
let cp: ChildProcess | undefined;
let apiPort: number;
let grpcPort: number;
const sidecars: SidecarProcess[] = [];

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise((resolve) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.once("exit", () => {
      clearTimeout(t);
      resolve(undefined);
    });
    p.kill("SIGTERM");
  });
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-offline-"));
  [apiPort, grpcPort] = [await freePort(), await freePort()];
  const args = [CLI, "control-plane", "--etcd", etcd().endpoint, "--api-port", String(apiPort), "--grpc-port", String(grpcPort), "--data-dir", path.join(tmp, "cp"), "--token", ADMIN];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TSMESH_LOG_LEVEL: "warn" } });
  cp = proc;
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 100_000) stderr += d.toString();
  });
  await until("control plane ready", async () => {
    if (proc.exitCode !== null) throw new Error(`control plane exited: ${stderr}`);
    const res = await fetch(`http://127.0.0.1:${apiPort}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 20_000, 100);
  app = await startEchoApp({ name: "ob" });
}, 40_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  if (cp) await stopProcess(cp);
  await app?.close();
  await fs.rm(tmp, { recursive: true, force: true });
}, 40_000);

it("restarts with the cached certificate and config while the control plane is down, and serves", async () => {
  const boot = (token: string, service: string) => [
    "--control-plane", `127.0.0.1:${grpcPort}`,
    "--token", token,
    "--ca-bundle", path.join(tmp, "cp", "certs", "bundle.crt"),
    "--config-cache", path.join(tmp, `${service}-config.json`),
  ];
  const b = await startSidecarProcess({ service: "ob", appPort: app.port, dir: tmp, extraArgs: boot(await apiToken(apiPort, ADMIN, "ob"), "ob") });
  sidecars.push(b);
  const tokenA = await apiToken(apiPort, ADMIN, "oa");
  const a1 = await startSidecarProcess({ service: "oa", appPort: 1, dir: tmp, extraArgs: boot(tokenA, "oa") });
  sidecars.push(a1);
  const call = async (p: string, outbound: number) => {
    const res = await request(`http://127.0.0.1:${outbound}${p}`, { headers: { host: "ob", connection: "close" } });
    return { status: res.statusCode, body: res.statusCode === 200 ? ((await res.body.json()) as EchoReply) : (await res.body.dump(), undefined) };
  };
  // b's endpoint reaches a's pushed config (registration -> etcd -> push debounce): bounded poll.
  await until("a routes to b with pushed config", async () => ((await call("/before", a1.outbound)).status === 200 ? true : undefined), 20_000, 100);
  const serial = async (admin: number) =>
    ((await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json()) as { certificate: { chain: Array<{ serial: string }> } }).certificate.chain[0]!.serial;
  const issued = await serial(a1.admin);

  // The cache: key and chain, private to this user.
  const dir = path.join(tmp, "oa-config.identity");
  expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
  expect((await fs.readdir(dir)).sort()).toEqual(["chain.pem", "key.pem"]);
  for (const f of ["chain.pem", "key.pem"]) expect((await fs.stat(path.join(dir, f))).mode & 0o777).toBe(0o600);

  await stopProcess(cp!);
  await a1.stop();
  // Same command line: the token is spent and nothing answers on the gRPC port.
  const a2 = await startSidecarProcess({ service: "oa", appPort: 1, dir: tmp, extraArgs: boot(tokenA, "oa") });
  sidecars.push(a2);
  const res = await call("/after-restart", a2.outbound);
  expect(res.status).toBe(200);
  expect(res.body?.app).toBe("ob");
  expect(res.body?.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("ob")};URI=${serviceIdentity("oa")}`);
  expect(await serial(a2.admin)).toBe(issued);
  const dump = await (await fetch(`http://127.0.0.1:${a2.admin}/config_dump`)).text();
  expect(dump).not.toContain("PRIVATE KEY");
  expect(a2.logs()).not.toContain("PRIVATE KEY");
  expect(a1.logs()).not.toContain("PRIVATE KEY");
  // The control plane is addressed by IP: no IP sent as TLS server name (Node's DEP0123 warning).
  expect(a1.logs()).not.toContain("DEP0123");
}, 90_000);
