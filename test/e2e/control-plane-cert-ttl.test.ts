// `tsmesh control-plane --cert-ttl`: the lifetime of the certificates the CA issues, range-checked
// (10m..720h) like MeshConfig spec.certificates.workloadTTL; $TSMESH_CERT_TTL is its default.
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../shared/net/free-port.js";
import { createCsr, generateKeyPair } from "../../shared/pki/index.js";
import { callSign } from "../../sidecar/identity/client.js";
import { CLI } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

const ADMIN = "cert-ttl-e2e-admin";
let tmp: string;
const procs: ChildProcess[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsmesh-cp-cert-ttl-"));
});
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

function controlPlane(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [CLI, "control-plane", "--token", ADMIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TSMESH_LOG_LEVEL: "info", ...env } });
  procs.push(proc);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  return { proc, logs: () => stderr, exited: new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code))) };
}

it("--cert-ttl 1h: the CA issues 1 h certificates", async () => {
  const dataDir = path.join(tmp, "cp");
  const [api, grpc] = [await freePort(), await freePort()];
  const cli = controlPlane(["--data-dir", dataDir, "--api-port", String(api), "--grpc-port", String(grpc), "--cert-ttl", "1h"]);
  try {
    await until("control plane ready", () => cli.logs().includes('"msg":"control plane ready"') || (cli.proc.exitCode !== null ? "exited" : undefined), 40_000, 50).then((v) => expect(v, cli.logs()).toBe(true));
    const res = await fetch(`http://127.0.0.1:${api}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ service: "web", ttl: "5m" }),
    });
    const { token } = (await res.json()) as { token: string };
    const { privateKeyPem } = generateKeyPair();
    const signed = await callSign({
      address: `127.0.0.1:${grpc}`,
      trustBundlePem: [fs.readFileSync(path.join(dataDir, "certs", "bundle.crt"), "utf8")],
      trustDomain: "cluster.local",
      csrPem: createCsr(privateKeyPem, "spiffe://cluster.local/ns/default/sa/web"),
      bootstrapToken: token,
    });
    const lifetime = Date.parse(new X509Certificate(signed.certChainPem[0]!).validTo) - Date.now();
    expect(Math.abs(lifetime - 3_600_000)).toBeLessThan(2 * 60_000);
  } finally {
    cli.proc.kill("SIGTERM");
    expect(await cli.exited, cli.logs()).toBe(0);
  }
}, 60_000);

it("a lifetime outside 10m..720h, by flag or by $TSMESH_CERT_TTL, is a usage error (exit 2) naming where it came from", async () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [["--cert-ttl", "60s"], {}, /--cert-ttl must be a duration from 10m to 720h .*got "60s"/],
    [["--cert-ttl", "721h"], {}, /--cert-ttl must be a duration from 10m to 720h/],
    [["--cert-ttl", "forever"], {}, /--cert-ttl must be a duration/],
    [[], { TSMESH_CERT_TTL: "5m" }, /TSMESH_CERT_TTL must be a duration from 10m to 720h .*got "5m"/],
  ];
  for (const [args, env, message] of cases) {
    const cli = controlPlane(["--data-dir", path.join(tmp, "bad"), "--api-port", "0", "--grpc-port", "0", ...args], env);
    expect(await cli.exited, cli.logs()).toBe(2);
    expect(cli.logs()).toMatch(message);
  }
  // Nothing was started: no data dir was made.
  expect(fs.existsSync(path.join(tmp, "bad"))).toBe(false);
}, 60_000);
