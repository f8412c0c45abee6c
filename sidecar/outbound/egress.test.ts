import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyStream, compose, MeshError, type MeshRequest, type MeshResponse, type RequestContext } from "../core/handler.js";
import { routeLayer } from "../filters/route/layer.js";
import { buildRouteTable } from "../filters/route/table.js";
import { EgressClients, egressLayer, egressTarget, PASSTHROUGH_CLUSTER, type EgressMode } from "./egress.js";

const req = (authority: string, path = "/x"): MeshRequest => ({
  method: "GET", authority, path, headers: { "x-app": "1" }, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal,
});
const ctx = (): RequestContext => ({ requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {} });

async function text(res: MeshResponse): Promise<string> {
  if (res.body === null) return "";
  if (Buffer.isBuffer(res.body)) return res.body.toString();
  const chunks: Buffer[] = [];
  for await (const c of bodyStream(res)!) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("egress (outboundTrafficPolicy)", () => {
  let server: http.Server;
  let port = 0;
  const clients = new EgressClients(2);
  let mode: EgressMode = "ALLOW_ANY";
  const meshCalls: string[] = [];
  const handler = compose(
    routeLayer(() => buildRouteTable([])),
    egressLayer({ isMeshService: (s) => s === "default/reviews", mode: () => mode, clients, via: "1.1 tsmesh-test" }),
  )(async (r) => {
    meshCalls.push(r.authority);
    return { status: 204, headers: {}, body: null };
  });

  beforeAll(async () => {
    server = http.createServer((r, res) => res.end(`external saw ${r.method} ${r.url} host=${r.headers.host} x-app=${r.headers["x-app"]} via=${r.headers.via}`));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await clients.close();
    server.close();
  });

  it("ALLOW_ANY: a host outside the mesh gets the request as the app sent it, labelled PassthroughCluster", async () => {
    const c = ctx();
    const res = await handler(req(`127.0.0.1:${port}`, "/hello?q=1"), c);
    expect(res.status).toBe(200);
    expect(await text(res)).toBe(`external saw GET /hello?q=1 host=127.0.0.1:${port} x-app=1 via=1.1 tsmesh-test`);
    expect(c.logical).toBe(PASSTHROUGH_CLUSTER);
    expect(c.annotations.egress).toBe(true);
    expect(meshCalls).toEqual([]);
  });

  it("a request that comes back to the sidecar that sent it (its Via entry) is refused with 508", async () => {
    const looped = { ...req(`127.0.0.1:${port}`), headers: { via: "1.1 other, 1.1 tsmesh-test" } };
    await expect(handler(looped, ctx())).rejects.toMatchObject({ status: 508, code: "TSMESH_ERR_PROXY_LOOP" });
    const res = await handler({ ...req(`127.0.0.1:${port}`), headers: { via: "1.1 other" } }, ctx());
    expect(await text(res)).toContain("via=1.1 other, 1.1 tsmesh-test");
  });

  it("a mesh service is not egress, even without a route", async () => {
    const res = await handler(req("reviews:9080"), ctx());
    expect(res.status).toBe(204);
    expect(meshCalls).toEqual(["reviews:9080"]);
  });

  it("REGISTRY_ONLY: refused with 502 and a stable code, nothing sent", async () => {
    mode = "REGISTRY_ONLY";
    try {
      const err = await handler(req(`127.0.0.1:${port}`), ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MeshError);
      expect(err).toMatchObject({ status: 502, code: "TSMESH_ERR_NOT_IN_MESH" });
    } finally {
      mode = "ALLOW_ANY";
    }
  });

  it("keeps at most `max` destinations, closing the least recently used", async () => {
    const a = clients.get("127.0.0.1", port);
    clients.get("127.0.0.1", 1);
    expect(clients.get("127.0.0.1", port)).toBe(a); // used again: now the most recent
    clients.get("127.0.0.1", 2); // evicts port 1
    expect(clients.size).toBe(2);
    expect(clients.get("127.0.0.1", port)).toBe(a);
  });

  it("targets: the authority's port or 80; IPv6 literals unbracketed; a bad port is refused", () => {
    expect(egressTarget("example.org")).toEqual({ host: "example.org", port: 80 });
    expect(egressTarget("example.org:8080")).toEqual({ host: "example.org", port: 8080 });
    expect(egressTarget("[::1]:81")).toEqual({ host: "::1", port: 81 });
    expect(egressTarget("example.org:99999")).toBeUndefined();
  });
});
