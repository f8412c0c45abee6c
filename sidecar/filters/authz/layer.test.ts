import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { AuthorizationPolicy } from "../../../shared/schema/kinds.js";
import type { MeshRequest, RequestContext } from "../../core/handler.js";
import { authzLayer } from "./layer.js";

const policies: AuthorizationPolicy[] = [
  { apiVersion: "tsmesh.dev/v1", kind: "AuthorizationPolicy", metadata: { name: "only-frontend" }, spec: { service: "reviews", action: "ALLOW", rules: [{ from: { services: ["frontend"] } }] } },
];
const req: MeshRequest = { method: "GET", authority: "reviews", path: "/books", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal: new AbortController().signal };
const ctx = (peer?: string): RequestContext => ({
  requestId: "1", startedAt: 0n, attempt: 0, failedEndpoints: new Set(), annotations: {},
  peerIdentity: peer && `spiffe://cluster.local/ns/default/sa/${peer}`,
});

describe("authzLayer", () => {
  it("forwards an allowed peer to the app", async () => {
    let called = 0;
    const handler = authzLayer(() => policies, "reviews")(async () => (called++, { status: 200, headers: {}, body: null }));
    expect((await handler(req, ctx("frontend"))).status).toBe(200);
    expect(called).toBe(1);
  });

  it("answers 403 with a JSON TSMESH_ERR_FORBIDDEN body and never calls the app", async () => {
    let called = 0;
    const handler = authzLayer(() => policies, "reviews")(async () => (called++, { status: 200, headers: {}, body: null }));
    const c = ctx("billing");
    const res = await handler(req, c);
    expect(res.status).toBe(403);
    expect(res.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(await text(res.body!)) as { code: string; error: string };
    expect(body.code).toBe("TSMESH_ERR_FORBIDDEN");
    expect(body.error).toMatch(/^RBAC: access denied: GET \/books from spiffe:\/\/cluster\.local\/ns\/default\/sa\/billing matches no ALLOW rule/);
    expect(called).toBe(0);
    expect(c.annotations.authz).toBe("denied");
  });

  it("another namespace can impersonate a service (regression): a peer of ns evil with sa frontend gets 403", async () => {
    let called = 0;
    const handler = authzLayer(() => policies, "reviews", "default")(async () => (called++, { status: 200, headers: {}, body: null }));
    const c: RequestContext = { ...ctx(), peerIdentity: "spiffe://cluster.local/ns/evil/sa/frontend" };
    expect((await handler(req, c)).status).toBe(403);
    expect(called).toBe(0);
    expect((await handler(req, ctx("frontend"))).status).toBe(200);
  });

  it("denies plaintext peers when a policy needs an identity, and allows everyone for other services", async () => {
    const handler = (svc: string) => authzLayer(() => policies, svc)(async () => ({ status: 200, headers: {}, body: null }));
    expect((await handler("reviews")(req, ctx())).status).toBe(403);
    expect((await handler("ratings")(req, ctx())).status).toBe(200);
  });
});
