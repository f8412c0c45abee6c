// Sidecars that bootstrap from the control plane: each `tsmesh sidecar` process gets a one-time
// token from POST /api/v1/tokens, its workload certificate from the CA (--control-plane --token
// --ca-bundle), and a request flows client -> sidecar a -> mTLS -> sidecar b -> app b with those
// certificates; config from a static --config file, or pushed by the control plane.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { serviceIdentity } from "../../shared/identity.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { useEtcd } from "../harness/etcd.js";
import { endpointsAt, snapshotOf, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";

const etcd = useEtcd();
const ADMIN = "bootstrap-e2e-admin-token";
let dir: string;
let cp: ControlPlane;
let app: TestApp;
const sidecars: SidecarProcess[] = [];

async function token(service: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ service, ttl: "5m" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

const bootArgs = (tok: string) => ["--control-plane", `127.0.0.1:${cp.grpcPort}`, "--token", tok, "--ca-bundle", path.join(dir, "certs", "bundle.crt")];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-bootstrap-"));
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir: dir, token: ADMIN, plugins: [caPlugin(), pushPlugin()] });
  app = await startEchoApp({ name: "b" });
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await app?.close();
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("sidecar bootstrap from the control plane", () => {
  it("two sidecars with CA-issued certificates carry a request over mTLS", async () => {
    const b = await startSidecarProcess({ service: "b", appPort: app.port, dir, snapshot: snapshotOf({}), extraArgs: bootArgs(await token("b")) });
    sidecars.push(b);
    const a = await startSidecarProcess({
      service: "a",
      appPort: 1,
      dir,
      snapshot: snapshotOf({ endpoints: { b: endpointsAt("b", [b.inbound]) } }),
      extraArgs: bootArgs(await token("a")),
    });
    sidecars.push(a);

    const res = await request(`http://127.0.0.1:${a.outbound}/via-mesh`, { headers: { host: "b" } });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as EchoReply;
    expect(body.app).toBe("b");
    // Both ends proved the SPIFFE IDs the CA put in their certificates.
    expect(body.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("b")};URI=${serviceIdentity("a")}`);

    const dump = (await (await fetch(`http://127.0.0.1:${a.admin}/config_dump`)).json()) as { certificate: { spiffeId?: string } | null };
    expect(dump.certificate?.spiffeId).toBe(serviceIdentity("a"));
    expect(JSON.stringify(dump)).not.toContain("PRIVATE KEY");
    // The bootstrap token is never logged.
    expect(a.logs()).not.toMatch(/"token":"[^[]/);
  });

  it("without --config, the pushed config (registered endpoints) routes a -> b and /ready waits for it", async () => {
    const b = await startSidecarProcess({ service: "pb", appPort: app.port, dir, extraArgs: [...bootArgs(await token("pb")), "--labels", "version=v1"] });
    sidecars.push(b);
    const a = await startSidecarProcess({ service: "pa", appPort: 1, dir, extraArgs: bootArgs(await token("pa")) });
    sidecars.push(a);
    // Registration reaches a's snapshot through etcd and the push debounce: poll, bounded.
    let status = 0;
    let body: EchoReply | undefined;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const res = await request(`http://127.0.0.1:${a.outbound}/pushed`, { headers: { host: "pb" } });
      status = res.statusCode;
      body = status === 200 ? ((await res.body.json()) as EchoReply) : (await res.body.dump(), undefined);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(body?.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("pb")};URI=${serviceIdentity("pa")}`);
    const eps = (await (await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/endpoints`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as unknown;
    expect(JSON.stringify(eps)).toContain('"version":"v1"');
  });

  it("renews short-lived certificates and swaps them in with no failed request", async () => {
    // A second control plane (same etcd) whose CA issues 9 s certificates: renewal at ~6 s.
    const rdir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-rotate-"));
    const short = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir: rdir, token: ADMIN, plugins: [caPlugin({ defaultTtlMs: 9000 })] });
    try {
      const args = (tok: string) => ["--control-plane", `127.0.0.1:${short.grpcPort}`, "--token", tok, "--ca-bundle", path.join(rdir, "certs", "bundle.crt")];
      const b = await startSidecarProcess({ service: "rb", appPort: app.port, dir: rdir, snapshot: snapshotOf({}), extraArgs: args(await token("rb")) });
      sidecars.push(b);
      const a = await startSidecarProcess({ service: "ra", appPort: 1, dir: rdir, snapshot: snapshotOf({ endpoints: { rb: endpointsAt("rb", [b.inbound]) } }), extraArgs: args(await token("ra")) });
      sidecars.push(a);
      const serial = async (admin: number) => {
        const dump = (await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json()) as { certificate: { chain: Array<{ serial: string }> } };
        return dump.certificate.chain[0]!.serial;
      };
      const first = { a: await serial(a.admin), b: await serial(b.admin) };
      const statuses: number[] = [];
      let rotated = false;
      for (let i = 0; i < 75 && !rotated; i++) {
        const res = await request(`http://127.0.0.1:${a.outbound}/during-rotation`, { headers: { host: "rb" } });
        await res.body.dump();
        statuses.push(res.statusCode);
        rotated = (await serial(a.admin)) !== first.a && (await serial(b.admin)) !== first.b;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(rotated).toBe(true);
      // One more request after both swapped: new connections use the new certificates.
      const after = await request(`http://127.0.0.1:${a.outbound}/after-rotation`, { headers: { host: "rb", connection: "close" } });
      await after.body.dump();
      statuses.push(after.statusCode);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await short.close();
      rmSync(rdir, { recursive: true, force: true });
    }
  }, 60_000);

  it("a used or unknown token is refused and the sidecar exits non-zero without serving", async () => {
    const used = await token("c");
    const first = await startSidecarProcess({ service: "c", appPort: app.port, dir, snapshot: snapshotOf({}), extraArgs: bootArgs(used) });
    sidecars.push(first);
    await expect(startSidecarProcess({ service: "c", appPort: app.port, dir, snapshot: snapshotOf({}), extraArgs: bootArgs(used) })).rejects.toThrow(/exited with 1/);
    await expect(startSidecarProcess({ service: "c", appPort: app.port, dir, snapshot: snapshotOf({}), extraArgs: bootArgs("not-a-token") })).rejects.toThrow(/exited with 1/);
  });

  it("--control-plane without a CA bundle is a clear flag error", async () => {
    await expect(
      startSidecarProcess({ service: "d", appPort: app.port, dir, snapshot: snapshotOf({}), extraArgs: ["--control-plane", `127.0.0.1:${cp.grpcPort}`, "--token", "x"] }),
    ).rejects.toThrow(/--ca-bundle/);
  });
});
