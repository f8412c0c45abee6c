// `tsmesh run` with Node apps that call a peer by name with plain fetch("http://api/") and
// http.get("http://api/"): Node ignores HTTP_PROXY, so the preload `tsmesh run` puts in
// NODE_OPTIONS sends both to the outbound listener; the call reaches the api app over mTLS with
// the caller's identity, and the caller's sidecar counts it.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { serviceIdentity } from "../../shared/identity.js";
import { freePort } from "../../shared/net/free-port.js";
import { useEtcd } from "../harness/etcd.js";
import { startTsmeshRun, untilRunReady, type RanProcess } from "../harness/tsmesh-run.js";

const etcd = useEtcd();
const ADMIN = "run-node-fetch-e2e-admin-token";
let dir: string;
let cp: ControlPlane;
const procs: ChildProcess[] = [];

// The api app: answers with the caller identity its sidecar vouches for; exits 0 on SIGTERM.
const API = `
const http = require("node:http");
const s = http.createServer((req, res) => res.end(JSON.stringify({ xfcc: req.headers["x-forwarded-client-cert"] })))
  .listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => s.close(() => process.exit(0)));
`;

// A caller: calls http://api/ by name (retrying while api's endpoint is pushed), then reads its
// own sidecar's /metrics (localhost: direct) and prints the reply and its outbound count for api.
const caller = (call: string) => `
const http = require("node:http");
const viaFetch = async (url) => { const r = await fetch(url); return { status: r.status, body: await r.text() }; };
const viaHttp = (url) => new Promise((resolve, reject) => http.get(url, (res) => {
  let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => resolve({ status: res.statusCode, body }));
}).on("error", reject));
(async () => {
  let last = "";
  for (let i = 0; i < 100; i++) {
    try {
      const r = await ${call}("http://api/");
      if (r.status === 200) {
        const metrics = (await viaHttp("http://localhost:" + process.env.TSMESH_ADMIN_PORT + "/metrics")).body;
        const counted = metrics.split("\\n").filter((l) => l.startsWith("tsmesh_requests_total{") && l.includes('direction="outbound"') && l.includes('destination="default/api"'))
          .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
        console.log("reply=" + r.body); console.log("counted=" + counted); process.exit(0);
      }
      last = "status " + r.status;
    } catch (e) { last = (e.cause && e.cause.code) || e.code || e.message; }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log("failed=" + last); process.exit(1);
})();
`;


function tsmeshRun(service: string, script: string, appPort: number): Promise<RanProcess> {
  return startTsmeshRun({
    cp, dir, adminToken: ADMIN, service, appPort, procs,
    command: [process.execPath, script, String(appPort)],
    // A NODE_OPTIONS of the caller's own stays and the preload is appended to it.
    env: { NODE_OPTIONS: "--no-warnings" },
  });
}

const ready = (r: RanProcess): Promise<void> => untilRunReady(r);

let api: RanProcess;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-run-node-"));
  writeFileSync(path.join(dir, "api.cjs"), API);
  writeFileSync(path.join(dir, "fetch-caller.cjs"), caller("viaFetch"));
  writeFileSync(path.join(dir, "http-caller.cjs"), caller("viaHttp"));
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir: dir, token: ADMIN, plugins: [caPlugin(), pushPlugin()] });
  api = await tsmeshRun("api", path.join(dir, "api.cjs"), await freePort());
  await ready(api);
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tsmesh run: Node fetch and node:http ignore HTTP_PROXY (ENOTFOUND for http://api/)", () => {
  for (const [service, script] of [["fetcher", "fetch-caller.cjs"], ["getter", "http-caller.cjs"]] as const) {
    it(`${script}: http://api/ by name reaches the api app over mTLS and the caller's sidecar counts it`, async () => {
      const run = await tsmeshRun(service, path.join(dir, script), await freePort());
      expect(await run.exit, run.out() + run.err()).toBe(0);
      const reply = JSON.parse(/reply=(.*)/.exec(run.out())![1]!) as { xfcc: string };
      expect(reply.xfcc).toBe(`By=${serviceIdentity("api")};URI=${serviceIdentity(service)}`);
      expect(Number(/counted=(\d+)/.exec(run.out())![1])).toBeGreaterThanOrEqual(1);
    });
  }
});
