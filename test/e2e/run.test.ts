// `tsmesh run` end to end: two apps, each wrapped by `tsmesh run` (sidecar in the run process,
// certificate from the control plane with a token created through the API, config pushed).
// The app starts only once its sidecar is ready, reaches the other service through HTTP_PROXY
// over mTLS, and its exit code is what `tsmesh run` exits with; SIGTERM reaches the app.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { serviceIdentity } from "../../shared/identity.js";
import { freePort } from "../../shared/net/free-port.js";
import { useEtcd } from "../harness/etcd.js";
import { startTsmeshRun, type RanProcess } from "../harness/tsmesh-run.js";

const etcd = useEtcd();
const ADMIN = "run-e2e-admin-token";
let dir: string;
let cp: ControlPlane;
const procs: ChildProcess[] = [];

// App b: answers with its name and the caller identity the sidecar vouches for; exits 0 on SIGTERM.
const APP_B = `
const http = require("node:http");
const s = http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ app: "b", path: req.url, xfcc: req.headers["x-forwarded-client-cert"] }));
}).listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => { console.log("b got SIGTERM"); s.close(() => process.exit(0)); });
`;

// App a: checks its sidecar is ready at its own start, calls http://b/ through HTTP_PROXY
// (retrying while b's endpoint is being pushed), prints the answer, exits 7.
const APP_A = `
const http = require("node:http");
const proxy = new URL(process.env.HTTP_PROXY);
const get = (host, port, path, headers = {}) => new Promise((resolve) => {
  const req = http.request({ host, port, path, headers }, (res) => {
    let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => resolve({ status: res.statusCode, body }));
  });
  req.on("error", (e) => resolve({ status: 0, body: e.message }));
  req.end();
});
(async () => {
  const ready = await get("127.0.0.1", Number(process.env.TSMESH_ADMIN_PORT), "/ready");
  console.log("ready-at-start=" + ready.status + " no_proxy=" + process.env.NO_PROXY);
  for (let i = 0; i < 100; i++) {
    const r = await get(proxy.hostname, Number(proxy.port), "http://b/hello", { host: "b" });
    if (r.status === 200) { console.log("reply=" + r.body); process.exit(7); }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log("no reply from b"); process.exit(1);
})();
`;


function tsmeshRun(
  service: string,
  appFile: string,
  appPort: number,
  extra: string[] = [],
  command = [process.execPath, appFile, String(appPort)],
  env: Record<string, string> = {},
  bind: string[] = ["--bind", "127.0.0.1"],
): Promise<RanProcess> {
  return startTsmeshRun({ cp, dir, adminToken: ADMIN, service, appPort, command, extra, env, bind, procs });
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-run-"));
  writeFileSync(path.join(dir, "app-a.cjs"), APP_A);
  writeFileSync(path.join(dir, "app-b.cjs"), APP_B);
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir: dir, token: ADMIN, plugins: [caPlugin(), pushPlugin()] });
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Local addresses (hex, as /proc/net/tcp{,6} write them) of the sockets listening on `port`. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === "0A" && local?.endsWith(`:${hexPort}`)) found.push(local.slice(0, -5));
    }
  }
  return found;
}

describe("tsmesh run", () => {
  it("run_binds_all_interfaces: without --bind, the inbound and admin listeners are on 127.0.0.1 only", async () => {
    const b = await tsmeshRun("b", path.join(dir, "app-b.cjs"), await freePort(), [], undefined, {}, []);
    await until("b ready", async () => (await fetch(`http://127.0.0.1:${b.admin}/ready`).catch(() => undefined))?.status === 200);
    expect(listeningAddresses(b.inbound)).toEqual(["0100007F"]);
    expect(listeningAddresses(b.admin)).toEqual(["0100007F"]);
    b.proc.kill("SIGTERM");
    await b.exit;
  });

  it("starts the app after the sidecar is ready; HTTP_PROXY reaches b over mTLS; exit code and SIGTERM propagate", async () => {
    const b = await tsmeshRun("b", path.join(dir, "app-b.cjs"), await freePort());
    await until("b ready", async () => (await fetch(`http://127.0.0.1:${b.admin}/ready`).catch(() => undefined))?.status === 200);

    const a = await tsmeshRun("a", path.join(dir, "app-a.cjs"), await freePort());
    const code = await a.exit;
    expect(code, a.err()).toBe(7);
    expect(a.out()).toContain("ready-at-start=200 no_proxy=localhost,127.0.0.1,::1");
    const reply = JSON.parse(/reply=(.*)/.exec(a.out())![1]!) as { app: string; path: string; xfcc: string };
    expect(reply).toMatchObject({ app: "b", path: "/hello" });
    expect(reply.xfcc).toBe(`By=${serviceIdentity("b")};URI=${serviceIdentity("a")}`);
    // The bootstrap token the run created is not in its logs.
    expect(a.err()).not.toMatch(/"token":"[A-Za-z0-9_-]{16,}/);

    b.proc.kill("SIGTERM");
    expect(await b.exit).toBe(0);
    expect(b.out()).toContain("b got SIGTERM");
  });

  it("a missing command exits 127 and a control plane refusal never starts the app", async () => {
    const missing = await tsmeshRun("c", "", await freePort(), [], [path.join(dir, "no-such-command")]);
    expect(await missing.exit).toBe(127);
    expect(missing.err()).toMatch(/cannot start .*no-such-command/);
    const refused = await tsmeshRun("d", path.join(dir, "app-b.cjs"), await freePort(), ["--token", "not-a-valid-token"]);
    expect(await refused.exit).toBe(1);
    expect(refused.out()).not.toContain("b got");
    expect(refused.err()).toMatch(/TOKEN_INVALID/);
  });

  it("run hands the admin token to the app: the app's environment has neither the admin nor the bootstrap token", async () => {
    const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ service: "e2", ttl: "5m" }),
    });
    const bootstrap = ((await res.json()) as { token: string }).token;
    const show = ["sh", "-c", 'echo "lengths=${#TSMESH_TOKEN},${#TSMESH_BOOTSTRAP_TOKEN},${#TSMESH_BOOTSTRAP_TOKEN_FILE} service=$TSMESH_SERVICE"; env'];
    // The token created through the API with the admin token, and one handed in by environment.
    const viaAdmin = await tsmeshRun("e1", "", await freePort(), [], show);
    const viaEnv = await tsmeshRun("e2", "", await freePort(), [], show, { TSMESH_BOOTSTRAP_TOKEN: bootstrap, TSMESH_BOOTSTRAP_TOKEN_FILE: path.join(dir, "unused") });
    for (const [ran, service] of [[viaAdmin, "e1"], [viaEnv, "e2"]] as const) {
      expect(await ran.exit, ran.err()).toBe(0);
      expect(ran.out()).toContain(`lengths=0,0,0 service=${service}`);
      expect(ran.out()).not.toContain(ADMIN);
      expect(ran.out()).not.toContain(bootstrap);
      expect(ran.out()).not.toMatch(/^TSMESH_\w*TOKEN/m);
    }
  });
});
