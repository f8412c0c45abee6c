// HTTP/2 through the mesh: h2c from the client to sidecar A, h2 over mTLS between sidecars, h2c to
// the app; gRPC unary, status and server-streaming with grpc-js on both ends.
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceIdentity } from "../../shared/identity.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { echoClientVia, grpc, say, startGrpcEcho, type EchoReplyMsg } from "../harness/grpc-echo.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

let pki: TestPki;
let app: TestApp;
let grpcApp: { port: number; close: () => Promise<void> };
let a: SidecarProcess;
let web: SidecarProcess;
let rpc: SidecarProcess;
/** A service whose app speaks HTTP/1.1 only. */
let legacyApp: http.Server;
let legacy: SidecarProcess;

/** The status code of a unary gRPC call through sidecar A to `authority`, which must fail. */
async function grpcFailureVia(authority: string): Promise<grpc.status> {
  const client = echoClientVia(a.outbound, authority);
  try {
    const err = (await say(client, "hi").catch((e: unknown) => e)) as grpc.ServiceError;
    return err.code;
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  pki = createTestPki("protocols");
  app = await startEchoApp({ name: "web" });
  grpcApp = await startGrpcEcho();
  legacyApp = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => res.end(`h1 app: ${req.method} ${req.url} http/${req.httpVersion} ${body}`));
  });
  // Protocol upgrades (as WebSocket does): 101, then the app echoes every byte back.
  legacyApp.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: Upgrade\r\nx-path: ${req.url}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => legacyApp.listen(0, "127.0.0.1", r));
  [web, rpc, legacy] = await Promise.all([
    startPkiSidecar(pki, "web", app.port),
    startPkiSidecar(pki, "rpc", grpcApp.port),
    startPkiSidecar(pki, "legacy", (legacyApp.address() as AddressInfo).port),
  ]);
  const snapshot = snapshotOf({
    endpoints: { web: endpointsAt("web", [web.inbound]), rpc: endpointsAt("rpc", [rpc.inbound]), legacy: endpointsAt("legacy", [legacy.inbound]), nosuch: [] },
  });
  a = await startPkiSidecar(pki, "a", 1, snapshot);
});

afterAll(async () => {
  await Promise.all([a?.stop(), web?.stop(), rpc?.stop(), legacy?.stop()]);
  legacyApp?.close();
  await Promise.all([app?.close(), grpcApp?.close()]);
  pki?.cleanup();
});

function h2get(port: number, authority: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({ ":path": path, ":authority": authority });
    let status = 0;
    let body = "";
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (d: Buffer) => (body += d.toString()));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

describe("HTTP/2 and gRPC through the mesh", () => {
  it("an HTTP/1.1 protocol upgrade (WebSocket-style) goes through both sidecars and becomes a two-way tunnel", async () => {
    const s = net.connect(a.outbound, "127.0.0.1");
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    await new Promise((r) => s.once("connect", r));
    s.write("GET /chat HTTP/1.1\r\nHost: legacy\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => got.includes("\r\n\r\n"));
    expect(got).toMatch(/^HTTP\/1\.1 101 /);
    expect(got.toLowerCase()).toContain("upgrade: echo");
    expect(got).toContain("x-path: /chat");
    const afterHead = got.length;
    s.write("ping over the tunnel");
    await until(() => got.length >= afterHead + 20);
    expect(got.slice(afterHead)).toBe("ping over the tunnel");
    s.destroy();
  });

  it("an HTTP/2 :authority with userinfo is refused (400), as a Host header is over HTTP/1.1", async () => {
    const res = await h2get(a.outbound, "evil@web", "/");
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: "TSMESH_ERR_BAD_REQUEST" });
  });

  it("HTTP/2 to a service whose app speaks only HTTP/1.1 is translated at its sidecar; gRPC to it is UNAVAILABLE", async () => {
    for (const path of ["/first", "/second"]) {
      const res = await h2get(a.outbound, "legacy", path);
      expect(res).toEqual({ status: 200, body: `h1 app: GET ${path} http/1.1 ` });
    }
    expect(await grpcFailureVia("legacy")).toBe(grpc.status.UNAVAILABLE);
  });

  it("h2c prior-knowledge request reaches the app over h2 with the peer identity", async () => {
    const res = await h2get(a.outbound, "web", "/h2path");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as EchoReply;
    expect(body.protocol).toBe("h2");
    expect(body.url).toBe("/h2path");
    expect(body.headers["x-forwarded-client-cert"]).toBe(`By=${serviceIdentity("web")};URI=${serviceIdentity("a")}`);
  });

  it("gRPC unary call succeeds and a gRPC error status passes through trailers", async () => {
    const client = echoClientVia(a.outbound, "rpc");
    try {
      const reply = await say(client, "hi");
      expect(reply.message).toBe("echo: hi");
      expect(reply.peer).toBe(`By=${serviceIdentity("rpc")};URI=${serviceIdentity("a")}`);
      const err = (await say(client, "fail").catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toBe("asked to fail");
    } finally {
      client.close();
    }
  });

  it("gRPC server-streaming delivers every message in order, then OK", async () => {
    const client = echoClientVia(a.outbound, "rpc");
    try {
      const items: EchoReplyMsg[] = [];
      const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
        const call = client.Count({ n: 20, intervalMs: 5 });
        call.on("data", (m: EchoReplyMsg) => items.push(m));
        call.on("status", resolve);
        call.on("error", reject);
      });
      expect(status.code).toBe(grpc.status.OK);
      expect(items.map((m) => m.index)).toEqual([...Array(20).keys()]);
    } finally {
      client.close();
    }
  });

  it("an HTTP/2 request with oversized headers is refused and the listener keeps serving", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const session = http2.connect(`http://127.0.0.1:${a.outbound}`);
      session.on("error", () => resolve("session-error"));
      const stream = session.request({ ":path": "/", ":authority": "web", "x-big": "a".repeat(20 * 1024) });
      stream.on("response", (h) => {
        resolve(`status-${h[":status"]}`);
        session.destroy();
      });
      stream.on("error", () => {
        resolve("stream-error");
        session.destroy();
      });
      stream.end();
    });
    expect(outcome).not.toBe("status-200");
    expect(a.proc.exitCode).toBeNull();
    expect((await h2get(a.outbound, "web", "/after")).status).toBe(200);
  });

  it("gRPC to a mesh service without endpoints fails UNAVAILABLE, not a hang", async () => {
    expect(await grpcFailureVia("nosuch")).toBe(grpc.status.UNAVAILABLE);
  });
});
