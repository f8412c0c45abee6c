import { describe, expect, it } from "vitest";
import type { AuthorizationPolicy } from "../../../shared/schema/kinds.js";
import type { AuthorizationPolicySpec } from "../../../shared/schema/authorization-policy.js";
import { authorize } from "./authorize.js";

const policy = (name: string, spec: Omit<AuthorizationPolicySpec, "service"> & { service?: string }): AuthorizationPolicy => ({
  apiVersion: "tsmesh.dev/v1", kind: "AuthorizationPolicy", metadata: { name }, spec: { service: "reviews", ...spec },
});
const id = (svc: string, ns = "default") => `spiffe://cluster.local/ns/${ns}/sa/${svc}`;
const from = (svc: string | undefined, method = "GET", path = "/", ns = "default") => ({
  service: "reviews", peerIdentity: svc && id(svc, ns), peerService: svc, peerNamespace: svc && ns, method, path,
});
const inNamespace = (p: AuthorizationPolicy, namespace: string): AuthorizationPolicy => ({ ...p, metadata: { ...p.metadata, namespace } });

describe("authorize", () => {
  it("allows everything when no policy selects the service", () => {
    const other = policy("other", { service: "ratings", action: "ALLOW", rules: [] });
    expect(authorize([other], from("x"))).toMatchObject({ allowed: true });
  });

  it("with an ALLOW policy, allows only requests matching one of its rules", () => {
    const p = policy("frontend-only", { action: "ALLOW", rules: [{ from: { services: ["frontend"] }, methods: ["GET"], paths: ["/api/*"] }] });
    expect(authorize([p], from("frontend", "GET", "/api/books")).allowed).toBe(true);
    expect(authorize([p], from("frontend", "POST", "/api/books")).allowed).toBe(false);
    expect(authorize([p], from("frontend", "GET", "/admin")).allowed).toBe(false);
    const d = authorize([p], from("billing", "GET", "/api/books"));
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain('matches no ALLOW rule of "frontend-only"');
    expect(d.reason).toContain(id("billing"));
  });

  it("evaluates DENY before ALLOW", () => {
    const allowAll = policy("allow-all", { action: "ALLOW", rules: [{}] });
    const denyAdmin = policy("deny-admin", { action: "DENY", rules: [{ paths: ["/admin*"] }] });
    expect(authorize([allowAll, denyAdmin], from("frontend", "GET", "/admin/users"))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('denied by policy "deny-admin" rule 0'),
    });
    expect(authorize([allowAll, denyAdmin], from("frontend", "GET", "/books")).allowed).toBe(true);
    expect(authorize([denyAdmin], from("frontend", "GET", "/books")).allowed).toBe(true);
  });

  it("an ALLOW policy with no rules denies everything; a DENY policy with no rules denies nothing", () => {
    expect(authorize([policy("none", { action: "ALLOW", rules: [] })], from("frontend")).allowed).toBe(false);
    expect(authorize([policy("none", { action: "DENY", rules: [] })], from("frontend")).allowed).toBe(true);
  });

  it("matches identities exactly and refuses from-rules for unauthenticated peers", () => {
    const p = policy("ids", { action: "ALLOW", rules: [{ from: { identities: [id("frontend")] } }] });
    expect(authorize([p], from("frontend")).allowed).toBe(true);
    expect(authorize([p], { ...from("frontend"), peerIdentity: "spiffe://other.domain/ns/default/sa/frontend" }).allowed).toBe(false);
    expect(authorize([p], from(undefined)).allowed).toBe(false);
    expect(authorize([p], from(undefined)).reason).toContain("unauthenticated");
  });

  it("supports exact, prefix, suffix and wildcard paths, ignoring the query", () => {
    const p = policy("paths", { action: "ALLOW", rules: [{ paths: ["/exact", "/pre*", "*.png"] }] });
    expect(["/exact?x=1", "/prefix/a", "/img/a.png"].map((path) => authorize([p], from("a", "GET", path)).allowed)).toEqual([true, true, true]);
    expect(["/exact/", "/other"].map((path) => authorize([p], from("a", "GET", path)).allowed)).toEqual([false, false]);
    expect(authorize([policy("all", { action: "ALLOW", rules: [{ paths: ["*"] }] })], from("a", "GET", "/x")).allowed).toBe(true);
  });

  it("judges the path as the listener normalised it, without the query", () => {
    // The listener (sidecar/listener/request-path.ts) has already merged slashes, removed dot
    // segments and decoded unreserved escapes; with escapedSlashes KEEP, "%2F" stays encoded and
    // is judged as such, so "/admin*" does not match "/%2Fadmin".
    const deny = policy("deny-admin", { action: "DENY", rules: [{ paths: ["/admin*"] }] });
    expect(authorize([deny], from("a", "GET", "/admin?x=/public")).allowed).toBe(false);
    expect(authorize([deny], from("a", "GET", "/public?x=/admin")).allowed).toBe(true);
    expect(authorize([deny], from("a", "GET", "/%2Fadmin")).allowed).toBe(true);
  });
});

describe("authorize across namespaces (regression: another namespace can impersonate a service)", () => {
  it("from.services [a] admits default/a, never spiffe://.../ns/evil/sa/a", () => {
    const p = policy("from-a", { action: "ALLOW", rules: [{ from: { services: ["a"] } }] });
    expect(authorize([p], from("a")).allowed).toBe(true);
    const d = authorize([p], from("a", "GET", "/", "evil"));
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain("spiffe://cluster.local/ns/evil/sa/a");
  });

  it("resolves short names in the policy's namespace; ns/name names another", () => {
    const shop = inNamespace(policy("shop-from-a", { action: "ALLOW", rules: [{ from: { services: ["a", "default/b"] } }] }), "shop");
    const req = (svc: string, ns: string) => ({ ...from(svc, "GET", "/", ns), namespace: "shop" });
    expect(authorize([shop], req("a", "shop")).allowed).toBe(true);
    expect(authorize([shop], req("a", "default")).allowed).toBe(false);
    expect(authorize([shop], req("b", "default")).allowed).toBe(true);
    expect(authorize([shop], req("b", "shop")).allowed).toBe(false);
  });

  it("selects the service of the policy's namespace only", () => {
    const shop = inNamespace(policy("shop-deny", { action: "ALLOW", rules: [] }), "shop");
    expect(authorize([shop], from("a")).allowed).toBe(true);
    expect(authorize([shop], { ...from("a"), namespace: "shop" }).allowed).toBe(false);
    const qualified = policy("q", { service: "shop/reviews", action: "ALLOW", rules: [] });
    expect(authorize([qualified], { ...from("a"), namespace: "shop" }).allowed).toBe(false);
  });

  it("from.namespaces admits any service of those namespaces, and nothing unauthenticated", () => {
    const p = policy("from-ns", { action: "ALLOW", rules: [{ from: { namespaces: ["shop"] } }] });
    expect(authorize([p], from("x", "GET", "/", "shop")).allowed).toBe(true);
    expect(authorize([p], from("x", "GET", "/", "evil")).allowed).toBe(false);
    expect(authorize([p], from(undefined)).allowed).toBe(false);
    const both = policy("both", { action: "ALLOW", rules: [{ from: { namespaces: ["shop"], services: ["shop/a"] } }] });
    expect(authorize([both], from("a", "GET", "/", "shop")).allowed).toBe(true);
    expect(authorize([both], from("b", "GET", "/", "shop")).allowed).toBe(false);
  });
});
