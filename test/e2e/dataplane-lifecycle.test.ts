// Config hot-swap under a stream of requests (no failure), graceful drain on SIGTERM and POST
// /quit (an in-flight slow request still completes; new connections are refused afterwards).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, startSidecarProcess, type SidecarProcess } from "../harness/processes.js";

let pki: TestPki;
let app1: TestApp;
let app2: TestApp;
let b1: SidecarProcess;
let b2: SidecarProcess;
const started: SidecarProcess[] = [];

beforeAll(async () => {
  pki = createTestPki("lifecycle");
  [app1, app2] = await Promise.all([startEchoApp({ name: "one" }), startEchoApp({ name: "two" })]);
  const certs = pki.issue("b");
  [b1, b2] = await Promise.all([
    startSidecarProcess({ service: "b", appPort: app1.port, certs, dir: pki.dir, snapshot: snapshotOf({}) }),
    startSidecarProcess({ service: "b", appPort: app2.port, certs, dir: pki.dir, snapshot: snapshotOf({}) }),
  ]);
});

afterAll(async () => {
  await Promise.all([b1, b2, ...started].map((s) => s?.stop("SIGKILL")));
  await Promise.all([app1?.close(), app2?.close()]);
  pki?.cleanup();
});

async function client(endpoints: number[]): Promise<SidecarProcess> {
  const s = await startPkiSidecar(pki, "a", 1, snapshotOf({ endpoints: { b: endpointsAt("b", endpoints) } }), { extraArgs: ["--drain-timeout", "5000"] });
  started.push(s);
  return s;
}

async function get(port: number, headers: Record<string, string> = {}): Promise<{ status: number; app?: string }> {
  const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: "b", ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, app: res.statusCode === 200 ? (JSON.parse(text) as EchoReply).app : undefined };
}

describe("hot config update", () => {
  it("swaps the endpoint set under load without a single failed request", async () => {
    const a = await client([b1.inbound]);
    const statuses: number[] = [];
    const apps: string[] = [];
    let swapped = false;
    const total = 600;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        const i = sent++;
        if (i === total / 3 && !swapped) {
          swapped = true;
          a.reload(snapshotOf({ version: "2", endpoints: { b: endpointsAt("b", [b2.inbound]) } }));
        }
        // Some requests are slow so they are in flight while the swap happens.
        const r = await get(a.outbound, i % 10 === 0 ? { "x-delay-ms": "50" } : {});
        statuses.push(r.status);
        if (r.app) apps.push(r.app);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(apps[0]).toBe("one");
    expect(apps.slice(-50).every((x) => x === "two")).toBe(true);
  });
});

describe("graceful drain", () => {
  it("SIGTERM: the in-flight slow request completes, then the sidecar exits and stops accepting", async () => {
    const a = await client([b1.inbound]);
    const slow = get(a.outbound, { "x-delay-ms": "1500" });
    await new Promise((r) => setTimeout(r, 300));
    const exited = a.stop("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    const refused = await get(a.outbound).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(await slow).toEqual({ status: 200, app: "one" });
    expect(await exited).toBe(0);
  });

  it("SIGTERM on the receiving side: its in-flight request still completes", async () => {
    const b3 = await startPkiSidecar(pki, "b", app2.port);
    started.push(b3);
    const a = await client([b3.inbound]);
    const slow = get(a.outbound, { "x-delay-ms": "1000" });
    await new Promise((r) => setTimeout(r, 300));
    const exited = b3.stop("SIGTERM");
    expect(await slow).toEqual({ status: 200, app: "two" });
    expect(await exited).toBe(0);
  });

  it("POST /quit drains and exits", async () => {
    const a = await client([b1.inbound]);
    const slow = get(a.outbound, { "x-delay-ms": "800" });
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((resolve) => a.proc.once("exit", resolve));
    const quit = await fetch(`http://127.0.0.1:${a.admin}/quit`, { method: "POST" });
    expect(quit.status).toBe(202);
    expect(await slow).toEqual({ status: 200, app: "one" });
    expect(await exited).toBe(0);
  });
});
