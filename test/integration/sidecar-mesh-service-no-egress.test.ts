// Regression: when a mesh service's last endpoint left the config (a lease lost in an etcd
// leader election), the sidecar took its name for a host outside the mesh and sent the request
// in plaintext to that bare name (502 marked egress, or worse, whatever listens there). A name any
// snapshot since start named stays a mesh service: with no endpoints it answers 503 and says why.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { request } from "undici";
import { createLogger } from "../../shared/log.js";
import { startSidecar, type Sidecar } from "../../sidecar/main.js";
import { endpointsAt, snapshotOf } from "../harness/processes.js";

let sidecar: Sidecar;
let plain: http.Server;
let plainPort = 0;
const plainSaw: string[] = [];

beforeAll(async () => {
  // Listens where the bare name "localhost" leads: egress would deliver here, in plaintext.
  plain = http.createServer((req, res) => {
    plainSaw.push(`${req.method} ${req.url}`);
    res.end("plaintext server");
  });
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  plainPort = (plain.address() as AddressInfo).port;
  sidecar = await startSidecar({
    service: "front",
    appPort: 1,
    inboundPort: 0,
    outboundPort: 0,
    adminPort: 0,
    bind: "127.0.0.1",
    observability: false,
    log: createLogger("test", { level: "error" }),
    // The mesh service is named "localhost" so that falling back to egress reaches a real server.
    snapshot: snapshotOf({ version: "1", endpoints: { localhost: endpointsAt("localhost", [1]) } }),
  });
});

afterAll(async () => {
  await sidecar?.close();
  plain?.close();
});

it("a mesh service whose endpoints all left the config answers 503 and is never sent outside the mesh", async () => {
  sidecar.config.set(snapshotOf({ version: "2", endpoints: {} }));
  const res = await request(`http://127.0.0.1:${sidecar.ports.outbound}/secret`, { headers: { host: `localhost:${plainPort}` } });
  const body = await res.body.text();
  expect(plainSaw).toEqual([]);
  expect(res.statusCode).toBe(503);
  expect(res.headers["x-tsmesh-error"]).toBe("TSMESH_ERR_NO_ENDPOINTS");
  expect((JSON.parse(body) as { error: string }).error).toMatch(/no endpoint of mesh service "default\/localhost"/);
});

it("a name no snapshot ever named is still egress", async () => {
  const res = await request(`http://127.0.0.1:${sidecar.ports.outbound}/open`, { headers: { host: `127.0.0.1:${plainPort}` } });
  expect(res.statusCode).toBe(200);
  expect(await res.body.text()).toBe("plaintext server");
});
