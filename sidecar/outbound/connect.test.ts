import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HTTPRoute } from "../../shared/schema/kinds.js";
import { Cancellation } from "../core/cancel.js";
import { buildRouteTable } from "../filters/route/table.js";
import { parseConnectTarget } from "../listener/connect-target.js";
import type { EgressMode } from "./egress.js";
import { outboundConnect } from "./connect.js";

const route: HTTPRoute = {
  apiVersion: "tsmesh.dev/v1",
  kind: "HTTPRoute",
  metadata: { name: "alias" },
  spec: { hosts: ["alias"], rules: [{ backends: [{ service: "greeter", weight: 1 }] }] },
};

describe("outboundConnect", () => {
  let echo: net.Server;
  let echoPort = 0;
  let mode: EgressMode = "ALLOW_ANY";
  const counted: number[] = [];
  const hook = outboundConnect({ routeTable: () => buildRouteTable([route]), isMeshService: (s) => s === "default/greeter", mode: () => mode, onEgress: (status) => counted.push(status) });
  const ask = (target: string) => hook(parseConnectTarget(target)!, new Cancellation());

  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  afterAll(() => echo.close());

  it("a mesh service or a host a route names is served in the mesh, whatever the port", async () => {
    for (const t of ["greeter:50051", "greeter:1", "greeter.default.svc.cluster.local:443", "alias:80"]) {
      expect(await ask(t)).toEqual({ kind: "serve" });
    }
    expect(counted).toEqual([]); // requests inside the tunnel are counted by the stack
  });

  it("any other host: ALLOW_ANY dials it, REGISTRY_ONLY refuses with 502 TSMESH_ERR_NOT_IN_MESH", async () => {
    mode = "ALLOW_ANY";
    const d = await ask(`127.0.0.1:${echoPort}`);
    expect(d.kind).toBe("pipe");
    if (d.kind === "pipe") d.socket.destroy();
    mode = "REGISTRY_ONLY";
    await expect(ask(`127.0.0.1:${echoPort}`)).rejects.toMatchObject({ status: 502, code: "TSMESH_ERR_NOT_IN_MESH" });
    mode = "ALLOW_ANY";
    expect(counted.splice(0)).toEqual([200, 502]);
  });

  it("an outside host that refuses the connection is a 502 TSMESH_ERR_UPSTREAM_CONNECT", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(ask(`127.0.0.1:${port}`)).rejects.toMatchObject({ status: 502, code: "TSMESH_ERR_UPSTREAM_CONNECT" });
  });
});
