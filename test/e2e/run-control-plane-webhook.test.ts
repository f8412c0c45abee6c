// `tsmesh control-plane --webhook-port/--webhook-cert/--webhook-key` (the flags deploy/k8s passes):
// the admission webhook is served over HTTPS beside the API and answers an AdmissionReview; without
// the flag there is no webhook; half the flags is a usage error (exit 2) before anything starts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedServingCert } from "../../control-plane/webhook/index.js";
import { freePort } from "../../shared/net/free-port.js";
import { useEtcd } from "../harness/etcd.js";
import { CLI } from "../harness/processes.js";

const etcd = useEtcd();
const cert = selfSignedServingCert(["127.0.0.1"]);
let dir: string;
const procs: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-cp-webhook-"));
  writeFileSync(path.join(dir, "tls.crt"), cert.certPem);
  writeFileSync(path.join(dir, "tls.key"), cert.keyPem, { mode: 0o600 });
});

afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function controlPlane(args: string[]): { proc: ChildProcess; exit: Promise<number | null>; err: () => string } {
  const proc = spawn(process.execPath, [CLI, "control-plane", "--etcd", etcd().endpoint, "--data-dir", path.join(dir, "data"), "--token", "admin-webhook-test", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  procs.push(proc);
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return { proc, exit: new Promise((resolve) => proc.once("exit", (c) => resolve(c))), err: () => err };
}

function post(port: number, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: "/mutate", method: "POST", ca: cert.certPem, headers: { "content-type": "application/json" }, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function until(fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const up = (port: number) => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);

describe("tsmesh control-plane --webhook-*", () => {
  it("serves the admission webhook over HTTPS with the given certificate and stops with the control plane", async () => {
    const [api, grpc, hook] = [await freePort(), await freePort(), await freePort()];
    const cp = controlPlane(["--api-port", String(api), "--grpc-port", String(grpc), "--webhook-port", String(hook), "--webhook-cert", path.join(dir, "tls.crt"), "--webhook-key", path.join(dir, "tls.key")]);
    // Signal handlers are installed once startup is complete (the webhook is its last step).
    await until(async () => cp.err().includes('"msg":"webhook listening"'));
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { app: "shop" } }, spec: { containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 8080 }] }] } };
    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { uid: "1b2c", kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, namespace: "shop", operation: "CREATE", object: pod },
    };
    const res = await post(hook, review);
    expect(res.status).toBe(200);
    const response = res.json.response as { uid: string; allowed: boolean; patchType?: string; patch?: string };
    expect(response).toMatchObject({ uid: "1b2c", allowed: true, patchType: "JSONPatch" });
    expect(Buffer.from(response.patch!, "base64").toString()).toContain("tsmesh");

    cp.proc.kill("SIGTERM");
    expect(await cp.exit).toBe(0);
    await expect(post(hook, review)).rejects.toThrow();
  });

  it("runs no webhook without --webhook-port, and refuses half the flags", async () => {
    const [api, grpc] = [await freePort(), await freePort()];
    const cp = controlPlane(["--api-port", String(api), "--grpc-port", String(grpc)]);
    await until(async () => cp.err().includes('"msg":"control plane ready"') && (await up(api)));
    await new Promise((r) => setTimeout(r, 300));
    expect(cp.err()).not.toContain("webhook listening");
    cp.proc.kill("SIGTERM");
    expect(await cp.exit).toBe(0);

    const half = controlPlane(["--api-port", "0", "--grpc-port", "0", "--webhook-port", "0"]);
    expect(await half.exit).toBe(2);
    expect(half.err()).toMatch(/--webhook-port needs --webhook-cert and --webhook-key/);
  });
});
