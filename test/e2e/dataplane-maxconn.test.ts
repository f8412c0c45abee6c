// DestinationPolicy connectionPool.maxConnections caps the HTTP/1.1 connections sidecar A opens
// to one endpoint. The endpoints are TLS servers holding the destination's workload certificate,
// so the test counts the connections A really opens.
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

interface Peer {
  port: number;
  connections: () => number;
  close: () => void;
}

async function fakePeer(pki: TestPki, service: string): Promise<Peer> {
  const certs = pki.issue(service);
  let connections = 0;
  const server = https.createServer(
    { cert: readFileSync(certs.cert), key: readFileSync(certs.key), ca: readFileSync(certs.ca), requestCert: true, ALPNProtocols: ["http/1.1"] },
    (_req, res) => {
      // Slow enough that concurrent requests need concurrent connections.
      setTimeout(() => res.end("ok"), 150);
    },
  );
  server.on("secureConnection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => server.close() };
}

let pki: TestPki;
let capped: Peer;
let open: Peer;
let a: SidecarProcess;

beforeAll(async () => {
  pki = createTestPki("maxconn");
  capped = await fakePeer(pki, "capped");
  open = await fakePeer(pki, "open");
  const snapshot = snapshotOf({
    endpoints: { capped: endpointsAt("capped", [capped.port]), open: endpointsAt("open", [open.port]) },
    policies: [
      {
        apiVersion: "tsmesh.dev/v1",
        kind: "DestinationPolicy",
        metadata: { name: "capped" },
        spec: { service: "capped", connectionPool: { maxConnections: 1 } },
      },
    ],
  });
  a = await startPkiSidecar(pki, "a", 1, snapshot);
});

afterAll(async () => {
  await a?.stop();
  capped?.close();
  open?.close();
  pki?.cleanup();
});

async function burst(host: string, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await request(`http://127.0.0.1:${a.outbound}/`, { headers: { host } });
      await res.body.text();
      return res.statusCode;
    }),
  );
}

describe("connectionPool.maxConnections", () => {
  it("4 concurrent requests share the one allowed connection; without a cap they open several", async () => {
    expect(await burst("capped", 4)).toEqual([200, 200, 200, 200]);
    expect(capped.connections()).toBe(1);
    expect(await burst("open", 4)).toEqual([200, 200, 200, 200]);
    expect(open.connections()).toBeGreaterThan(1);
  });
});
