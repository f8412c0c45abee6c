import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AppHealth } from "./app-probe.js";

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve())));

async function app(handler: http.RequestListener): Promise<number> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("AppHealth", () => {
  it("shares one probe in flight among concurrent callers of a path (callers outside the pod cannot multiply app connections)", async () => {
    let requests = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const port = await app((_req, res) => {
      requests++;
      void gate.then(() => res.writeHead(302, { location: "/elsewhere" }).end());
    });
    const health = new AppHealth(new Map([["/app-health/web/readyz", { httpGet: { path: "/h", port, scheme: "HTTP" as const }, timeoutSeconds: 5 }]]));
    const results = Array.from({ length: 20 }, () => health.check("/app-health/web/readyz"));
    await new Promise<void>((resolve) => server!.once("request", () => resolve()));
    release();
    const all = await Promise.all(results);
    expect(requests).toBe(1);
    // 3xx is success, as the kubelet judges it; the redirect is not followed.
    expect(all.every((r) => r.ok && r.reason.endsWith("status 302"))).toBe(true);
    expect((await health.check("/app-health/web/readyz")).ok).toBe(true);
    expect(requests).toBe(2);
  });

  it("judges 4xx/5xx as failures", async () => {
    const port = await app((req, res) => res.writeHead(req.url === "/a" ? 404 : 500).end());
    const probe = (path: string) => ({ httpGet: { path, port, scheme: "HTTP" as const }, timeoutSeconds: 1 });
    const health = new AppHealth(new Map([["/app-health/w/readyz", probe("/a")], ["/app-health/w/livez", probe("/b")]]));
    expect(await health.check("/app-health/w/readyz")).toEqual({ ok: false, reason: `HTTP GET 127.0.0.1:${port}/a: status 404` });
    expect((await health.check("/app-health/w/livez")).reason).toMatch(/status 500$/);
    expect(health.has("/app-health/w/startupz")).toBe(false);
  });
});
