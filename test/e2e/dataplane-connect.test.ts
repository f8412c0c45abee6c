// HTTP CONNECT on the outbound listener, end to end with real sidecar processes: a grpc-js app
// that dials a mesh service by name through its proxy variable (grpc_proxy / http_proxy, as
// `tsmesh run` sets) is served inside the mesh — mTLS to the peer, which sees the caller's
// identity and applies its AuthorizationPolicy, and the caller's metrics count it; a CONNECT to
// a host outside the mesh is a TCP tunnel with ALLOW_ANY and refused with REGISTRY_ONLY.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceIdentity } from "../../shared/identity.js";
import type { AuthorizationPolicy } from "../../shared/schema/kinds.js";
import { echoClientByName, grpc, say, startGrpcEcho } from "../harness/grpc-echo.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

let pki: TestPki;
let grpcApp: { port: number; close: () => Promise<void> };
let tcpEcho: net.Server;
let tcpEchoPort = 0;
let greeter: SidecarProcess;
let locked: SidecarProcess;
/** Client sidecar, outboundTrafficPolicy ALLOW_ANY (the default). */
let a: SidecarProcess;
/** Client sidecar, outboundTrafficPolicy REGISTRY_ONLY. */
let r: SidecarProcess;

const denyA: AuthorizationPolicy = {
  apiVersion: "tsmesh.dev/v1",
  kind: "AuthorizationPolicy",
  metadata: { name: "locked-deny-a" },
  spec: { service: "locked", action: "DENY", rules: [{ from: { services: ["a"] } }] },
};

beforeAll(async () => {
  pki = createTestPki("connect");
  grpcApp = await startGrpcEcho();
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => tcpEcho.listen(0, "127.0.0.1", resolve));
  tcpEchoPort = (tcpEcho.address() as net.AddressInfo).port;
  [greeter, locked] = await Promise.all([
    startPkiSidecar(pki, "greeter", grpcApp.port),
    startPkiSidecar(pki, "locked", grpcApp.port, snapshotOf({ authz: [denyA] })),
  ]);
  const endpoints = { greeter: endpointsAt("greeter", [greeter.inbound]), locked: endpointsAt("locked", [locked.inbound]) };
  [a, r] = await Promise.all([
    startPkiSidecar(pki, "a", 1, snapshotOf({ endpoints })),
    startPkiSidecar(
      pki,
      "a",
      1,
      snapshotOf({ endpoints, meshConfig: { trustDomain: "cluster.local", mtls: "STRICT", logLevel: "warn", outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } } }),
    ),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), r?.stop(), greeter?.stop(), locked?.stop()]);
  tcpEcho?.close();
  await grpcApp?.close();
  pki?.cleanup();
});

/** The outcome of one unary call to `target` by name through `sidecar`'s outbound listener. */
async function callByName(sidecar: SidecarProcess, target: string, variable: "grpc_proxy" | "http_proxy" = "grpc_proxy") {
  const client = echoClientByName(target, `http://127.0.0.1:${sidecar.outbound}`, variable);
  try {
    return await say(client, "by name").then(
      (reply) => ({ code: grpc.status.OK, reply }),
      (err: grpc.ServiceError) => ({ code: err.code, details: err.details, reply: undefined }),
    );
  } finally {
    client.close();
  }
}

/** Sends a raw CONNECT; resolves with the socket and what arrived up to the end of the response head. */
function rawConnect(port: number, target: string): Promise<{ socket: net.Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    const onData = (d: Buffer) => {
      got += d.toString("latin1");
      if (!got.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      resolve({ socket, head: got });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => resolve({ socket, head: got }));
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** Outbound requests sidecar "a" (source label "default/a") counted for `destination`. */
function outboundCount(metrics: string, destination: string): number {
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("tsmesh_requests_total{")) continue;
    if (line.includes('direction="outbound"') && line.includes('source="default/a"') && line.includes(`destination="${destination}"`)) total += Number(line.split(" ").pop());
  }
  return total;
}

describe("grpc-js apps under HTTP_PROXY cannot dial by name (CONNECT on the outbound listener)", () => {
  it("a grpc-js call to greeter:50051 by name (grpc_proxy) goes over the mesh: OK, the server sees the caller's SPIFFE ID, metrics count it", async () => {
    const metrics = async () => (await fetch(`http://127.0.0.1:${a.admin}/metrics`)).text();
    const before = outboundCount(await metrics(), "default/greeter");
    const res = await callByName(a, "greeter:50051");
    expect(res.code).toBe(grpc.status.OK);
    expect(res.reply?.message).toBe("echo: by name");
    expect(res.reply?.peer).toBe(`By=${serviceIdentity("greeter")};URI=${serviceIdentity("a")}`);
    expect(outboundCount(await metrics(), "default/greeter")).toBe(before + 1);
  });

  it("http_proxy (what `tsmesh run` sets) works the same, and the port the app names does not matter", async () => {
    const res = await callByName(a, "greeter:443", "http_proxy");
    expect(res.code).toBe(grpc.status.OK);
    expect(res.reply?.peer).toContain(`URI=${serviceIdentity("a")}`);
  });

  it("the peer's AuthorizationPolicy applies to calls through the tunnel: PERMISSION_DENIED", async () => {
    const res = await callByName(a, "locked:50051");
    expect(res.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("REGISTRY_ONLY still serves mesh services through CONNECT", async () => {
    expect((await callByName(r, "greeter:50051")).code).toBe(grpc.status.OK);
  });

  it("CONNECT to a host outside the mesh with ALLOW_ANY is a TCP tunnel to that host:port, counted as PassthroughCluster", async () => {
    const metrics = async () => (await fetch(`http://127.0.0.1:${a.admin}/metrics`)).text();
    const before = outboundCount(await metrics(), "PassthroughCluster");
    const { socket, head } = await rawConnect(a.outbound, `127.0.0.1:${tcpEchoPort}`);
    try {
      expect(head).toBe("HTTP/1.1 200 Connection Established\r\n\r\n");
      const echoed = new Promise<string>((resolve) => {
        let got = "";
        socket.on("data", (d: Buffer) => {
          got += d.toString("latin1");
          if (got.length >= 12) resolve(got);
        });
        socket.once("close", () => resolve(got));
      });
      socket.write("raw\x00bytes\r\n\r\n");
      expect(await echoed).toBe("raw\x00bytes\r\n\r\n");
    } finally {
      socket.destroy();
    }
    expect(outboundCount(await metrics(), "PassthroughCluster")).toBe(before + 1);
  });

  it("CONNECT to a host outside the mesh with REGISTRY_ONLY is refused with 502 TSMESH_ERR_NOT_IN_MESH", async () => {
    const { socket, head } = await rawConnect(r.outbound, `127.0.0.1:${tcpEchoPort}`);
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 502 /);
    expect(head.toLowerCase()).toContain("x-tsmesh-error: tsmesh_err_not_in_mesh");
  });

  it("malformed CONNECT targets get 400 and the sidecar keeps serving", async () => {
    for (const target of ["greeter", "greeter:", "greeter:99999", "a@greeter:80", "%%%"]) {
      const { socket, head } = await rawConnect(a.outbound, target);
      socket.destroy();
      expect(head, target).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await callByName(a, "greeter:50051")).code).toBe(grpc.status.OK);
  });
});
