// `tsmesh control-plane` and etcd over TLS with client certificates: the embedded etcd made from
// `--data-dir` refuses clients without the control plane's certificate, and `--etcd` with
// `--etcd-ca/--etcd-cert/--etcd-key` reaches an external etcd that requires one.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEtcdCerts, sha256Hex, startEtcd, tokenKey, type EtcdCertSet, type EtcdProcess } from "../../control-plane/store/index.js";
import { freePort } from "../../shared/net/free-port.js";
import { CLI } from "../harness/processes.js";
import { until } from "../integration/push-harness.js";

const ADMIN = "etcd-tls-e2e-admin";
let tmp: string;
const procs: ChildProcess[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsmesh-cp-etcd-tls-"));
});
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Cli {
  proc: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

function controlPlane(args: string[]): Cli {
  const proc = spawn(process.execPath, [CLI, "control-plane", "--token", ADMIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TSMESH_LOG_LEVEL: "info" } });
  procs.push(proc);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  return { proc, logs: () => stderr, exited: new Promise((resolve) => proc.once("exit", (code) => resolve(code))) };
}

async function ready(cli: Cli): Promise<string[]> {
  const line = await until("control plane ready", () => cli.logs().split("\n").find((l) => l.includes('"msg":"control plane ready"')) || (cli.proc.exitCode !== null ? "exited" : undefined), 40_000, 50);
  expect(line, cli.logs()).not.toBe("exited");
  return (JSON.parse(line) as { etcd: string[] }).etcd;
}

async function createToken(api: number): Promise<{ status: number; token?: string }> {
  const res = await fetch(`http://127.0.0.1:${api}/api/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ service: "b", ttl: "5m" }),
  });
  return { status: res.status, token: ((await res.json()) as { token?: string }).token };
}

const client = (endpoint: string, credentials?: { rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer }) =>
  new Etcd3({ hosts: endpoint, credentials, dialTimeout: 1500, defaultCallOptions: () => ({ deadline: Date.now() + 1500 }), faultHandling: { host: () => noop, global: noop } });

async function stop(cli: Cli): Promise<void> {
  cli.proc.kill("SIGTERM");
  expect(await cli.exited, cli.logs()).toBe(0);
}

describe("tsmesh control-plane --data-dir (embedded etcd)", () => {
  it("talks TLS to its embedded etcd; a client without the certificate cannot write a forged token", async () => {
    const dataDir = path.join(tmp, "embedded");
    const [api, grpc] = [await freePort(), await freePort()];
    const cli = controlPlane(["--data-dir", dataDir, "--api-port", String(api), "--grpc-port", String(grpc)]);
    try {
      const [endpoint] = await ready(cli);
      expect(endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const created = await createToken(api);
      expect(created.status).toBe(201);

      const tlsDir = path.join(dataDir, "etcd-tls");
      for (const f of fs.readdirSync(tlsDir)) expect(fs.statSync(path.join(tlsDir, f)).mode & 0o777, f).toBe(0o600);
      const ca = fs.readFileSync(path.join(tlsDir, "ca.crt"));
      const anon = client(endpoint!, { rootCertificate: ca });
      await expect(anon.put(tokenKey("ab".repeat(32))).value('{"service":"b"}').exec()).rejects.toThrow();
      anon.close();
      // With the data dir's client certificate: the control plane's own writes are there, the forged one is not.
      const owner = client(endpoint!, { rootCertificate: ca, certChain: fs.readFileSync(path.join(tlsDir, "client.crt")), privateKey: fs.readFileSync(path.join(tlsDir, "client.key")) });
      expect(await owner.get(tokenKey(sha256Hex(created.token!))).string()).not.toBeNull();
      expect(await owner.get(tokenKey("ab".repeat(32))).string()).toBeNull();
      owner.close();
      expect(cli.logs()).not.toContain("PRIVATE KEY");
    } finally {
      await stop(cli);
    }
  }, 60_000);
});

describe("tsmesh control-plane --etcd with --etcd-ca/--etcd-cert/--etcd-key", () => {
  let certs: EtcdCertSet;
  let etcd: EtcdProcess;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    certs = await ensureEtcdCerts(path.join(tmp, "external-tls"));
    etcd = await startEtcd({ tls: certs });
    for (const [name, text] of Object.entries({ ca: certs.client.caPem!, cert: certs.client.certPem!, key: certs.client.keyPem! })) {
      files[name] = path.join(tmp, `external-${name}.pem`);
      fs.writeFileSync(files[name], text, { mode: 0o600 });
    }
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it("reaches an external etcd that requires a client certificate", async () => {
    const [api, grpc] = [await freePort(), await freePort()];
    const cli = controlPlane(["--data-dir", path.join(tmp, "ext"), "--api-port", String(api), "--grpc-port", String(grpc), "--etcd", etcd.endpoint, "--etcd-ca", files.ca!, "--etcd-cert", files.cert!, "--etcd-key", files.key!]);
    try {
      expect(await ready(cli)).toEqual([etcd.endpoint]);
      expect((await createToken(api)).status).toBe(201);
      expect(cli.logs()).not.toContain("without a client certificate");
    } finally {
      await stop(cli);
    }
  }, 60_000);

  it("without the client certificate the same etcd refuses it (503), and it warns", async () => {
    const [api, grpc] = [await freePort(), await freePort()];
    const cli = controlPlane(["--data-dir", path.join(tmp, "ext-nocert"), "--api-port", String(api), "--grpc-port", String(grpc), "--etcd", etcd.endpoint, "--etcd-ca", files.ca!]);
    try {
      await ready(cli);
      expect((await createToken(api)).status).toBe(503);
      expect(cli.logs()).toContain("without a client certificate");
    } finally {
      await stop(cli);
    }
  }, 60_000);

  it("refuses TLS flags without --etcd, a cert without its key, and http:// URLs, with exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--etcd-cert", files.cert!, "--etcd-key", files.key!], /need --etcd/],
      [["--etcd", etcd.endpoint, "--etcd-cert", files.cert!], /--etcd-cert and --etcd-key go together/],
      [["--etcd", etcd.endpoint.replace("https:", "http:"), "--etcd-ca", files.ca!], /need https:\/\/ etcd URLs/],
      [["--etcd", etcd.endpoint, "--etcd-ca", path.join(tmp, "missing.pem")], /--etcd-ca: cannot read .*ENOENT/],
    ];
    for (const [args, message] of cases) {
      const cli = controlPlane(["--data-dir", path.join(tmp, "bad"), "--api-port", "0", "--grpc-port", "0", ...args]);
      expect(await cli.exited).toBe(2);
      expect(cli.logs()).toMatch(message);
      expect(cli.logs()).not.toContain("PRIVATE KEY");
    }
  }, 60_000);
});
