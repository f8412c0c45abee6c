import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { useEtcd } from "../harness/etcd.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { sha256Hex, tokenKey } from "../../control-plane/store/index.js";
import { createLogger } from "../../shared/log.js";
import os from "node:os";
import path from "node:path";
import fs from "node:fs/promises";

const etcd = useEtcd();
const TOKEN = "test-admin-token";
let cp: ControlPlane;
let base: string;
let dataDir: string;
const quiet = createLogger("test", { level: "error" });

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-api-"));
  cp = await startControlPlane({ etcd: [etcd().endpoint], apiPort: 0, grpcPort: 0, dataDir, token: TOKEN, log: quiet });
  base = `http://127.0.0.1:${cp.apiPort}`;
});
afterAll(async () => {
  await cp?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* metrics etc. */
  }
  return { status: res.status, json, text, headers: res.headers };
}

const route = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "tsmesh.dev/v1",
  kind: "HTTPRoute",
  metadata: { name, ...extra },
  spec: { hosts: ["web"], rules: [{ backends: [{ service: "web-v1", weight: 90 }, { service: "web-v2", weight: 10 }] }] },
});

describe("REST API", () => {
  it("serves probes and metrics without a token", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toContain("tsmesh_api_requests_total");
    expect(m).toContain("tsmesh_cp_etcd_errors_total");
  });

  it("requires the bearer token: 401 without, 403 wrong", async () => {
    expect((await fetch(`${base}/api/v1/routes`)).status).toBe(401);
    const wrong = await call("GET", "/api/v1/routes", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(403);
    expect(wrong.json.code).toBe("TSMESH_ERR_FORBIDDEN");
    // Auth comes before the body is read or validated.
    const unauth = await call("PUT", "/api/v1/routes/x", "{", { authorization: "" });
    expect(unauth.status).toBe(401);
    expect((await fetch(`${base}/api/v1/no/such/path`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/routes/x`, { method: "POST" })).status).toBe(401);
  });

  it("creates, reads, updates, lists and deletes", async () => {
    const created = await call("PUT", "/api/v1/routes/web", route("web"));
    expect(created.status).toBe(201);
    const meta = created.json.metadata as Record<string, unknown>;
    expect(meta.generation).toBe(1);
    const got = await call("GET", "/api/v1/routes/web");
    expect(got.json).toEqual(created.json);
    const updated = await call("PUT", "/api/v1/routes/web", route("web", { resourceVersion: meta.resourceVersion }));
    expect(updated.status).toBe(200);
    const list = await call("GET", "/api/v1/routes");
    expect((list.json.items as unknown[]).length).toBe(1);
    expect(list.json.kind).toBe("HTTPRouteList");
    const mc = await call("PUT", "/api/v1/meshconfig/default", { apiVersion: "tsmesh.dev/v1", kind: "MeshConfig", metadata: { name: "default" }, spec: {} });
    expect(mc.status).toBe(201);
    expect((mc.json.spec as Record<string, unknown>).mtls).toBe("STRICT"); // defaults applied
    expect((await call("DELETE", "/api/v1/routes/web")).status).toBe(200);
    expect((await call("GET", "/api/v1/routes/web")).status).toBe(404);
    expect((await call("DELETE", "/api/v1/routes/web")).status).toBe(404);
    expect((await call("GET", "/api/v1/widgets")).status).toBe(404);
  });

  it("answers 409 on a stale resourceVersion and keeps the newer value", async () => {
    const v1 = await call("PUT", "/api/v1/routes/cas", route("cas"));
    const rv1 = (v1.json.metadata as Record<string, string>).resourceVersion;
    expect((await call("PUT", "/api/v1/routes/cas", route("cas", { resourceVersion: rv1, labels: { a: "1" } }))).status).toBe(200);
    const stale = await call("PUT", "/api/v1/routes/cas", route("cas", { resourceVersion: rv1, labels: { a: "2" } }));
    expect(stale.status).toBe(409);
    expect(stale.json.code).toBe("TSMESH_ERR_CONFLICT");
    const now = await call("GET", "/api/v1/routes/cas");
    expect((now.json.metadata as Record<string, unknown>).labels).toEqual({ a: "1" });
    expect((await call("DELETE", `/api/v1/routes/cas?resourceVersion=${rv1}`)).status).toBe(409);
    const rv2 = (now.json.metadata as Record<string, string>).resourceVersion;
    expect((await call("DELETE", `/api/v1/routes/cas?resourceVersion=${rv2}`)).status).toBe(200);
  });

  it("refuses bad input with 400 and a field path, changing nothing", async () => {
    const malformed = await call("PUT", "/api/v1/routes/bad", '{"apiVersion": ');
    expect(malformed.status).toBe(400);
    expect(malformed.json.code).toBe("TSMESH_ERR_MALFORMED_JSON");

    const wrongKind = await call("PUT", "/api/v1/policies/bad", route("bad"));
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json.field).toBe("kind");

    const unknownKind = await call("PUT", "/api/v1/routes/bad", { ...route("bad"), kind: "Gateway" });
    expect(unknownKind.json.field).toBe("kind");

    const r = route("bad");
    (r.spec.rules[0] as Record<string, unknown>).retry = { attempts: 99 };
    const badField = await call("PUT", "/api/v1/routes/bad", r);
    expect(badField.status).toBe(400);
    expect(badField.json).toMatchObject({ code: "TSMESH_ERR_INVALID_RESOURCE", field: "spec.rules[0].retry.attempts" });

    const u = route("bad");
    (u.spec.rules[0] as Record<string, unknown>).tiemout = "1s";
    const unknownField = await call("PUT", "/api/v1/routes/bad", u);
    expect(unknownField.status).toBe(400);
    expect(unknownField.json.field).toMatch(/^spec\.rules\[0\]/);
    expect(unknownField.json.error).toContain("tiemout");

    const mismatch = await call("PUT", "/api/v1/routes/other", route("bad"));
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.field).toBe("metadata.name");

    const text = await call("PUT", "/api/v1/routes/bad", JSON.stringify(route("bad")), { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect((await call("POST", "/api/v1/routes/bad", route("bad"))).status).toBe(405);
    expect((await call("GET", "/api/v1/routes/bad")).status).toBe(404);
    // A malformed percent-escape in a path parameter is an unknown path, not a dropped connection.
    const badEscape = await call("GET", "/api/v1/routes/%E0%A4%A");
    expect(badEscape.status).toBe(404);
    expect(badEscape.json.code).toBe("TSMESH_ERR_NOT_FOUND");
  });

  it("refuses bodies over 1 MiB with 413 without reading them", async () => {
    const big = JSON.stringify({ ...route("big"), pad: "x".repeat(1024 * 1024 + 10) });
    expect((await call("PUT", "/api/v1/routes/big", big)).status).toBe(413);

    // Chunked (no Content-Length): refused once the count passes the limit.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/routes/big`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "transfer-encoding": "chunked" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, "x");
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect((await call("GET", "/api/v1/routes/big")).status).toBe(404);
  });

  it("issues bootstrap tokens, storing only their hash", async () => {
    const res = await call("POST", "/api/v1/tokens", { service: "web", ttl: "1h" });
    expect(res.status).toBe(201);
    const token = res.json.token as string;
    expect(res.json.service).toBe("web");
    expect(Date.parse(res.json.expiresAt as string)).toBeGreaterThan(Date.now() + 3_500_000);
    const stored = await cp.store.etcd.get(tokenKey(sha256Hex(token))).json();
    expect(stored).toMatchObject({ service: "web", namespace: "default" });
    const everything = await cp.store.range("/tsmesh/");
    expect(JSON.stringify(everything)).not.toContain(token);
    expect((await call("POST", "/api/v1/tokens", { service: "Web!" })).json.field).toBe("service");
    expect((await call("POST", "/api/v1/tokens", { service: "web", ttl: "forever" })).json.field).toBe("ttl");
  });

  it("derives services from endpoints and routes; sidecars empty until push writes them", async () => {
    await call("PUT", "/api/v1/routes/web", route("web"));
    const reg = await cp.store.registerEndpoint({ service: "web-v1", instanceId: "a", address: "127.0.0.1", port: 1, labels: {} }, 5);
    const services = await call("GET", "/api/v1/services");
    expect(services.json.items).toEqual([
      { name: "web", namespace: "default", endpoints: 0, routes: ["web"] },
      { name: "web-v1", namespace: "default", endpoints: 1, routes: ["web"] },
      { name: "web-v2", namespace: "default", endpoints: 0, routes: ["web"] },
    ]);
    expect((await call("GET", "/api/v1/endpoints")).json.items).toMatchObject([{ service: "web-v1", namespace: "default", instanceId: "a" }]);
    expect((await call("GET", "/api/v1/sidecars")).json.items).toEqual([]);
    await reg.close();
  });
});
