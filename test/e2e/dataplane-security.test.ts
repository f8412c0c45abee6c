// Bad peers refused: plaintext and wrong-CA clients at a STRICT inbound, a client without a
// certificate, and an upstream presenting the wrong SPIFFE ID; PERMISSIVE accepts plaintext.
// The sidecars keep serving after each refusal.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

let pki: TestPki;
let rogue: TestPki;
let app: TestApp;
let strict: SidecarProcess;
let permissive: SidecarProcess;
let impostor: SidecarProcess;
let client: SidecarProcess;

beforeAll(async () => {
  pki = createTestPki("security");
  rogue = createTestPki("rogue");
  app = await startEchoApp({ name: "b" });
  [strict, permissive, impostor] = await Promise.all([
    startPkiSidecar(pki, "b", app.port),
    startPkiSidecar(pki, "p", app.port, snapshotOf({ meshConfig: { trustDomain: "cluster.local", mtls: "PERMISSIVE", logLevel: "warn" } })),
    // Valid certificate from the mesh CA, but for another service.
    startPkiSidecar(pki, "evil", app.port),
  ]);
  client = await startPkiSidecar(pki, "a", 1, snapshotOf({ endpoints: { b: endpointsAt("b", [strict.inbound]), c: endpointsAt("c", [impostor.inbound]) } }));
});

afterAll(async () => {
  await Promise.all([strict, permissive, impostor, client].map((s) => s?.stop()));
  await app?.close();
  pki?.cleanup();
  rogue?.cleanup();
});

/** Tries an HTTPS GET with the given client credentials; resolves the status or the error code. */
function tlsGet(port: number, creds: { cert?: string; key?: string; ca: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: readFileSync(creds.ca),
      cert: creds.cert && readFileSync(creds.cert),
      key: creds.key && readFileSync(creds.key),
      servername: "b",
      checkServerIdentity: () => undefined,
      ALPNProtocols: ["http/1.1"],
    });
    let out = "";
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on("secureConnect", () => socket.write("GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"));
    socket.on("data", (d) => (out += d.toString()));
    socket.on("error", (err: NodeJS.ErrnoException) => (out ||= `error:${err.code ?? err.message}`));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out.startsWith("HTTP/") ? out.slice(9, 12) : out || "closed");
    });
  });
}

async function viaClient(host: string): Promise<{ status: number; code?: string }> {
  const res = await request(`http://127.0.0.1:${client.outbound}/`, { headers: { host } });
  await res.body.dump();
  return { status: res.statusCode, code: res.headers["x-tsmesh-error"] as string | undefined };
}

describe("STRICT inbound", () => {
  it("accepts a mesh client certificate", async () => {
    const a = pki.issue("tester");
    expect(await tlsGet(strict.inbound, a)).toBe("200");
  });

  it("refuses plaintext, a wrong-CA certificate and no certificate, and keeps serving", async () => {
    const plain = await fetch(`http://127.0.0.1:${strict.inbound}/`).catch((e: Error) => e);
    expect(plain).toBeInstanceOf(Error);
    const wrong = rogue.issue("a");
    // The wrong-CA client does not trust the server either: let it trust our CA to reach the server's check.
    expect(await tlsGet(strict.inbound, { cert: wrong.cert, key: wrong.key, ca: pki.caFile })).not.toBe("200");
    expect(await tlsGet(strict.inbound, { ca: pki.caFile })).not.toBe("200");
    expect(strict.proc.exitCode).toBeNull();
    expect(await viaClient("b")).toEqual({ status: 200, code: undefined });
  });

  it("the same check holds for HTTP/2 (one session per peer): 502 with the identity error code", async () => {
    const reply = await new Promise<{ status: number; code: unknown }>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${client.outbound}`);
      session.on("error", reject);
      const stream = session.request({ ":path": "/", ":authority": "c" });
      stream.on("response", (h) => {
        resolve({ status: Number(h[":status"]), code: h["x-tsmesh-error"] });
        session.destroy();
      });
      stream.on("error", reject);
      stream.end();
    });
    expect(reply).toEqual({ status: 502, code: "TSMESH_ERR_PEER_IDENTITY" });
  });
});

describe("PERMISSIVE inbound", () => {
  it("accepts plaintext (no identity header) and mTLS", async () => {
    const res = await request(`http://127.0.0.1:${permissive.inbound}/plain`, { headers: { host: "p" } });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as EchoReply;
    expect(body.headers["x-forwarded-client-cert"]).toBeUndefined();
    expect(await tlsGet(permissive.inbound, pki.issue("tester2"))).toBe("200");
  });
});

describe("outbound peer verification", () => {
  it("refuses an upstream presenting another service's SPIFFE ID with 502", async () => {
    const before = app.count();
    expect(await viaClient("c")).toEqual({ status: 502, code: "TSMESH_ERR_PEER_IDENTITY" });
    expect(app.count()).toBe(before);
    expect(await viaClient("b")).toEqual({ status: 200, code: undefined });
  });
});
