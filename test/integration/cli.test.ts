// The CLI against a spawned `tsmesh control-plane` (embedded etcd, generated admin token that the
// CLI picks up from ./.tsmesh/admin-token). Needs `npm run build` first.
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../shared/net/free-port.js";

const CLI = fileURLToPath(new URL("../../dist/shared/cli/main.js", import.meta.url));
let dir: string;
let cp: ChildProcess;
let api: string;
let stderr = "";

function tsmesh(args: string[], input?: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: dir, env: { ...process.env, TSMESH_API: api, TSMESH_TOKEN: "", ...env }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cli-"));
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  cp = spawn(process.execPath, [CLI, "control-plane", "--api-port", String(port), "--grpc-port", "0"], {
    cwd: dir,
    env: { ...process.env, TSMESH_TOKEN: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  cp.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (cp.exitCode !== null) throw new Error(`control plane exited: ${stderr}`);
    const ok = await fetch(`${api}/readyz`).then((r) => r.ok, () => false);
    if (ok && existsSync(path.join(dir, ".tsmesh/admin-token"))) break;
    if (Date.now() > deadline) throw new Error(`control plane not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  if (cp && cp.exitCode === null) {
    cp.kill("SIGKILL");
    await new Promise((r) => cp.once("exit", r));
  }
  await fs.rm(dir, { recursive: true, force: true });
});

const MANIFEST = `
apiVersion: tsmesh.dev/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  hosts: [web]
  rules:
    - backends:
        - {service: web-v1, weight: 90}
        - {service: web-v2, weight: 10}
      retry: {attempts: 2, retryOn: [5xx]}
---
apiVersion: tsmesh.dev/v1
kind: DestinationPolicy
metadata: {name: web}
spec: {service: web, loadBalancer: least-request}
---
{"apiVersion": "tsmesh.dev/v1", "kind": "MeshConfig", "metadata": {"name": "default"}, "spec": {"mtls": "PERMISSIVE"}}
`;

it("applies a multi-document file, gets, deletes, and refuses invalid input locally", async () => {
  await fs.writeFile(path.join(dir, "mesh.yaml"), MANIFEST);
  const applied = await tsmesh(["apply", "-f", "mesh.yaml"]);
  expect(applied.stderr).toBe("");
  expect(applied.stdout.trim().split("\n")).toEqual(["httproute/web created", "destinationpolicy/web created", "meshconfig/default created"]);
  expect((await tsmesh(["apply", "-f", "-"], MANIFEST)).stdout).toContain("httproute/web configured");

  const table = await tsmesh(["get", "routes"]);
  expect(table.stdout).toMatch(/^NAME\s+GENERATION\s+RESOURCE-VERSION\s+AGE\nweb\s+1\s+\d+/);
  const one = JSON.parse((await tsmesh(["get", "DestinationPolicy", "web", "-o", "json"])).stdout) as { spec: { loadBalancer: string } };
  expect(one.spec.loadBalancer).toBe("least-request");
  expect((await tsmesh(["get", "meshconfig", "-o", "yaml"])).stdout).toContain("mtls: PERMISSIVE");
  expect((await tsmesh(["get", "services"])).stdout).toMatch(/web-v2\s+0\s+web/);

  const bad = MANIFEST.replace("attempts: 2", "attempts: 99").replace("least-request", "random");
  const refused = await tsmesh(["apply", "-f", "-"], bad);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("spec.rules[0].retry.attempts");
  expect(refused.stderr).toContain("spec.loadBalancer");
  expect(JSON.parse((await tsmesh(["get", "policies", "web", "-o", "json"])).stdout).spec.loadBalancer).toBe("least-request");

  expect((await tsmesh(["delete", "routes", "web"])).stdout.trim()).toBe("httproute/web deleted");
  const gone = await tsmesh(["get", "routes", "web"]);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain("404");
  expect((await tsmesh(["get", "routes", "-o", "json"])).stdout.trim()).toBe("[]");

  const token = await tsmesh(["token", "create", "--service", "web", "--ttl", "10m"]);
  expect(token.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect((await tsmesh(["get", "routes"], undefined, { TSMESH_TOKEN: "wrong" })).stderr).toContain("403");
  expect(stderr).not.toContain(token.stdout.trim());
});

it("stops gracefully on SIGTERM, taking its embedded etcd down", async () => {
  const exited = new Promise<number | null>((r) => cp.once("exit", (code) => r(code)));
  cp.kill("SIGTERM");
  expect(await exited).toBe(0);
  // The embedded etcd speaks TLS with client certificates: whether its port still accepts
  // connections is what tells it is gone.
  const etcdPort = /"endpoint":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(stderr)?.[1];
  expect(etcdPort).toBeDefined();
  const state = await new Promise<string>((resolve) => {
    const sock = net.connect(Number(etcdPort), "127.0.0.1", () => (sock.destroy(), resolve("up")));
    sock.once("error", () => resolve("down"));
  });
  expect(state).toBe("down");
});
