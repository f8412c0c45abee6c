// `tsmesh run` with grpc-js apps on both sides: the client app dials "greeter:50051" by name with
// nothing but the http_proxy `tsmesh run` gives it (grpc-js tunnels through it with CONNECT), and
// the call reaches the greeter app over mTLS with the client's identity.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { serviceIdentity } from "../../shared/identity.js";
import { freePort } from "../../shared/net/free-port.js";
import { useEtcd } from "../harness/etcd.js";
import { startTsmeshRun, untilRunReady, type RanProcess } from "../harness/tsmesh-run.js";

const etcd = useEtcd();
const ADMIN = "run-grpc-e2e-admin-token";
const require = createRequire(import.meta.url);
const MODULES = { grpc: require.resolve("@grpc/grpc-js"), loader: require.resolve("@grpc/proto-loader"), proto: fileURLToPath(new URL("../harness/echo.proto", import.meta.url)) };
let dir: string;
let cp: ControlPlane;
const procs: ChildProcess[] = [];

const LOAD = `
const grpc = require(${JSON.stringify(MODULES.grpc)});
const loader = require(${JSON.stringify(MODULES.loader)});
const Echo = grpc.loadPackageDefinition(loader.loadSync(${JSON.stringify(MODULES.proto)}, { defaults: true })).tsmesh.test.Echo;
`;

// The greeter: answers Say with the caller identity its sidecar vouches for; exits 0 on SIGTERM.
const GREETER = `${LOAD}
const server = new grpc.Server();
server.addService(Echo.service, {
  Say: (call, cb) => cb(null, { message: "hello " + call.request.message, peer: String(call.metadata.get("x-forwarded-client-cert")[0] || "") }),
});
server.bindAsync("127.0.0.1:" + process.argv[2], grpc.ServerCredentials.createInsecure(), () => {});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
`;

// The caller: dials greeter:50051 by name, plain grpc-js, no proxy configuration of its own;
// retries while greeter's endpoint is being pushed; prints the reply or the last error.
const CALLER = `${LOAD}
const client = new Echo("greeter:50051", grpc.credentials.createInsecure());
let last = "";
const attempt = (i) => client.Say({ message: "by name" }, { deadline: Date.now() + 3000 }, (err, reply) => {
  if (!err) { console.log("reply=" + JSON.stringify(reply)); process.exit(0); }
  last = err.code + " " + err.details;
  if (i >= 100) { console.log("failed=" + last); process.exit(1); }
  setTimeout(() => attempt(i + 1), 100);
});
attempt(0);
`;


function tsmeshRun(service: string, script: string, appPort: number): Promise<RanProcess> {
  return startTsmeshRun({
    cp, dir, adminToken: ADMIN, service, appPort, procs,
    command: [process.execPath, script, String(appPort)],
    // Proxy variables grpc-js prefers to http_proxy, should the test's own environment have them.
    dropEnv: ["grpc_proxy", "https_proxy", "no_grpc_proxy"],
  });
}

const ready = (r: RanProcess): Promise<void> => untilRunReady(r);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-run-grpc-"));
  writeFileSync(path.join(dir, "greeter.cjs"), GREETER);
  writeFileSync(path.join(dir, "caller.cjs"), CALLER);
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir: dir, token: ADMIN, plugins: [caPlugin(), pushPlugin()] });
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tsmesh run: grpc-js apps cannot dial by name (CONNECT)", () => {
  it("a grpc-js app dialling greeter:50051 by name reaches the greeter app over the mesh", async () => {
    const greeter = await tsmeshRun("greeter", path.join(dir, "greeter.cjs"), await freePort());
    await ready(greeter);
    const caller = await tsmeshRun("caller", path.join(dir, "caller.cjs"), await freePort());
    expect(await caller.exit, caller.out() + caller.err()).toBe(0);
    const reply = JSON.parse(/reply=(.*)/.exec(caller.out())![1]!) as { message: string; peer: string };
    expect(reply.message).toBe("hello by name");
    expect(reply.peer).toBe(`By=${serviceIdentity("greeter")};URI=${serviceIdentity("caller")}`);
    greeter.proc.kill("SIGTERM");
    expect(await greeter.exit).toBe(0);
  });
});
