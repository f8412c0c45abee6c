// etcd goes away in the middle of a stream of writes: the API answers 503 quickly instead of
// hanging or crashing, recovers when etcd returns, and every write it acknowledged is there.
import { afterAll, beforeAll, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { useEtcd } from "../harness/etcd.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { createLogger } from "../../shared/log.js";

const etcd = useEtcd();
const TOKEN = "restart-token";
let cp: ControlPlane;
let base: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-restart-"));
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir, token: TOKEN, log: createLogger("test", { level: "error" }) });
  base = `http://127.0.0.1:${cp.apiPort}`;
});
afterAll(async () => {
  await cp?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const body = (name: string) =>
  JSON.stringify({ apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name }, spec: { hosts: ["a"], rules: [{ backends: [{ service: "b" }] }] } });

it("keeps every acknowledged write across an etcd restart and answers 503 meanwhile", async () => {
  const acked = new Map<string, string>(); // name -> resourceVersion
  const statuses: number[] = [];
  let slowest = 0;
  let phase: "before" | "down" | "after" = "before";
  let afterOk = 0;
  const deadline = Date.now() + 25_000;

  const writer = async (id: number) => {
    for (let i = 0; Date.now() < deadline && !(phase === "after" && afterOk >= 20); i++) {
      const name = `w${id}-${i}`;
      const t0 = Date.now();
      const res = await fetch(`${base}/api/v1/routes/${name}`, { method: "PUT", headers, body: body(name) });
      slowest = Math.max(slowest, Date.now() - t0);
      const json = (await res.json()) as { code?: string; metadata?: { resourceVersion: string } };
      statuses.push(res.status);
      if (res.status === 201) {
        acked.set(name, json.metadata!.resourceVersion);
        if (phase === "after") afterOk++;
      } else {
        expect(res.status).toBe(503);
        expect(json.code).toBe("TSMESH_ERR_STORE_UNAVAILABLE");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  const writers = [writer(0), writer(1)];
  while (acked.size < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(acked.size).toBeGreaterThanOrEqual(20);
  phase = "down";
  await etcd().stop();
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(503);
  await new Promise((r) => setTimeout(r, 1500)); // writes keep coming while etcd is down
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  await etcd().start();
  phase = "after";
  await Promise.all(writers);

  expect(afterOk).toBeGreaterThanOrEqual(20);
  expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
  expect(slowest).toBeLessThan(5000); // nothing hangs
  expect((await fetch(`${base}/readyz`)).status).toBe(200);

  const list = (await (await fetch(`${base}/api/v1/routes`, { headers })).json()) as { items: { metadata: { name: string; resourceVersion: string } }[] };
  const stored = new Map(list.items.map((r) => [r.metadata.name, r.metadata.resourceVersion]));
  for (const [name, rv] of acked) expect(stored.get(name), name).toBe(rv);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/tsmesh_cp_etcd_errors_total\{op="put"\} [1-9]/);
});
