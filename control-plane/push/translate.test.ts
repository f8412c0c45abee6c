import { describe, expect, it } from "vitest";
import type { HTTPRoute } from "../../shared/schema/kinds.js";
import { SnapshotCache } from "./cache.js";
import { TRUST_BUNDLE_KEY } from "../store/keys.js";
import { stateFromKvs, type MeshState } from "./state.js";
import { buildSnapshot, checkSnapshot } from "./translate.js";

const route = (name: string, host: string, backends: string[]): HTTPRoute => ({
  apiVersion: "tsmesh.dev/v1",
  kind: "HTTPRoute",
  metadata: { name },
  spec: { hosts: [host], rules: [{ backends: backends.map((service) => ({ service, weight: 1 })) }] },
});

const ep = (service: string, instanceId: string) => ({ service, instanceId, address: "127.0.0.1", port: 15006, labels: {} });

const base = (over: Partial<MeshState> = {}): MeshState => ({ revision: 42, routes: [], policies: [], authz: [], endpoints: [], trustBundle: ["PEM"], ...over });
const node = { service: "web", instanceId: "web-1" };

describe("buildSnapshot", () => {
  it("derives the version from the revision and fills mesh config defaults", () => {
    const s = buildSnapshot(base(), node);
    expect(s.version).toBe("42");
    expect(s.meshConfig).toMatchObject({ mtls: "STRICT", trustDomain: "cluster.local", logLevel: "info" });
    expect(s.trustBundle).toEqual(["PEM"]);
    expect(s.endpoints).toEqual({ "default/web": [] });
  });

  it("gives every route host and backend an endpoints entry, with instances sorted", () => {
    const s = buildSnapshot(base({ routes: [route("b", "reviews", ["reviews-v1", "reviews-v2"]), route("a", "web", ["web"])], endpoints: [ep("reviews-v1", "z"), ep("reviews-v1", "a"), ep("other", "o")] }), node);
    expect(s.routes.map((r) => r.metadata.name)).toEqual(["a", "b"]);
    expect(Object.keys(s.endpoints)).toEqual(["default/other", "default/reviews", "default/reviews-v1", "default/reviews-v2", "default/web"]);
    expect(s.endpoints["default/reviews-v1"]!.map((e) => e.instanceId)).toEqual(["a", "z"]);
    expect(s.endpoints["default/reviews-v2"]).toEqual([]);
    expect(checkSnapshot(s)).toEqual([]);
  });

  it("is pure: same input, same output, input untouched", () => {
    const st = base({ routes: [route("b", "x", ["y"]), route("a", "x", ["y"])] });
    const copy = JSON.stringify(st);
    expect(JSON.stringify(buildSnapshot(st, node))).toBe(JSON.stringify(buildSnapshot(st, node)));
    expect(JSON.stringify(st)).toBe(copy);
  });

  it("falls back to defaults when the stored mesh config no longer parses", () => {
    const st = base({ meshConfig: { apiVersion: "tsmesh.dev/v1", kind: "MeshConfig", metadata: { name: "default" }, spec: { mtls: "BOGUS" } as never } });
    expect(buildSnapshot(st, node).meshConfig.mtls).toBe("STRICT");
  });
});

describe("checkSnapshot", () => {
  it("reports a route backend without an endpoints entry", () => {
    const s = { ...buildSnapshot(base({ routes: [route("r", "web", ["api"])] }), node), endpoints: { "default/web": [] } };
    expect(checkSnapshot(s)).toEqual(['HTTPRoute r rules[0] backend names service "default/api" which has no endpoints entry']);
  });

  it("reports an endpoint filed under another namespace's service", () => {
    const s = { ...buildSnapshot(base(), node), endpoints: { "default/web": [{ ...ep("web", "w-1"), namespace: "evil" }] } };
    expect(checkSnapshot(s)).toEqual(["endpoint w-1 of evil/web filed under default/web"]);
  });
});

describe("namespaces (regression: another namespace can impersonate a service)", () => {
  const nsRoute = (name: string, namespace: string | undefined, host: string, backends: string[]): HTTPRoute => {
    const r = route(name, host, backends);
    return namespace ? { ...r, metadata: { ...r.metadata, namespace } } : r;
  };

  it("files each endpoint under its own namespace's service, so an evil/a instance is never one of default/a", () => {
    const s = buildSnapshot(base({ endpoints: [ep("a", "good"), { ...ep("a", "bad"), namespace: "evil" }] }), node);
    expect(s.endpoints["default/a"]!.map((e) => e.instanceId)).toEqual(["good"]);
    expect(s.endpoints["evil/a"]!.map((e) => e.instanceId)).toEqual(["bad"]);
    expect(checkSnapshot(s)).toEqual([]);
  });

  it("resolves a route's short names in the route's namespace and keeps qualified ones", () => {
    const s = buildSnapshot(base({ routes: [nsRoute("r", "shop", "cart", ["cart", "default/legacy"])] }), { ...node, namespace: "shop" });
    expect(Object.keys(s.endpoints)).toEqual(["default/legacy", "shop/cart", "shop/web"]);
    expect(checkSnapshot(s)).toEqual([]);
  });

  it("builds one snapshot per namespace/service group", () => {
    const cache = new SnapshotCache();
    cache.setState(base());
    expect(Object.keys(cache.get({ ...node, namespace: "shop" })!.snapshot.endpoints)).toEqual(["shop/web"]);
    expect(Object.keys(cache.get(node)!.snapshot.endpoints)).toEqual(["default/web"]);
  });

  it("reads the endpoint's namespace and service from its key; a key of the older layout keeps the record's namespace", () => {
    const { state } = stateFromKvs(
      [
        { key: "/tsmesh/v1/endpoints/default/a/a-1", value: JSON.stringify({ ...ep("a", "a-1"), namespace: "evil" }), modRevision: 8 },
        { key: "/tsmesh/v1/endpoints/a/a-2", value: JSON.stringify({ ...ep("a", "a-2"), namespace: "evil" }), modRevision: 9 },
        { key: "/tsmesh/v1/endpoints/a/a-3", value: JSON.stringify(ep("a", "a-3")), modRevision: 10 },
      ],
      10,
    );
    expect(state.endpoints.map((e) => `${e.namespace}/${e.service}/${e.instanceId}`)).toEqual(["evil/a/a-2", "default/a/a-3", "default/a/a-1"]);
  });
});

describe("stateFromKvs", () => {
  it("keeps relevant keys, sets resourceVersion from the mod revision, reports bad JSON", () => {
    const { state, problems } = stateFromKvs(
      [
        { key: "/tsmesh/v1/routes/r", value: JSON.stringify(route("r", "a", ["b"])), modRevision: 7 },
        { key: "/tsmesh/v1/endpoints/default/a/a-1", value: JSON.stringify(ep("a", "a-1")), modRevision: 8 },
        { key: "/tsmesh/v1/sidecars/a-1", value: "{}", modRevision: 9 },
        { key: "/tsmesh/v1/tokens/abc", value: "not json", modRevision: 10 },
        { key: "/tsmesh/v1/policies/p", value: "{oops", modRevision: 11 },
        { key: TRUST_BUNDLE_KEY, value: JSON.stringify({ pems: ["A", "B"] }), modRevision: 12 },
      ],
      12,
    );
    expect(state.routes[0]!.metadata.resourceVersion).toBe("7");
    expect(state.endpoints).toHaveLength(1);
    expect(state.trustBundle).toEqual(["A", "B"]);
    expect(problems.map((p) => p.key)).toEqual(["/tsmesh/v1/policies/p"]);
  });
});

describe("SnapshotCache", () => {
  it("serves immutable snapshots, one per group and version, and notifies subscribers", () => {
    const cache = new SnapshotCache();
    const seen: string[] = [];
    cache.subscribe((v) => seen.push(v));
    expect(cache.get(node)).toBeUndefined();
    cache.setState(base({ revision: 5 }));
    const a = cache.get(node)!;
    expect(a.version).toBe("5");
    expect(cache.get({ service: "web", instanceId: "web-2" })).toBe(a);
    expect(Object.isFrozen(a.snapshot.routes)).toBe(true);
    expect(JSON.parse(a.json)).toEqual(a.snapshot);
    cache.setState(base({ revision: 6 }));
    expect(cache.get(node)!.version).toBe("6");
    expect(seen).toEqual(["5", "6"]);
  });

  it("keeps the last consistent snapshot when a new one fails its check", () => {
    const problems: string[][] = [];
    let broken = false;
    const cache = new SnapshotCache({
      translate: (st, n) => {
        const s = buildSnapshot(st, n);
        return broken ? { ...s, routes: [route("r", "x", ["missing"])] } : s;
      },
      onRejected: (_g, _v, p) => problems.push(p),
    });
    cache.setState(base({ revision: 1 }));
    expect(cache.get(node)!.version).toBe("1");
    broken = true;
    cache.setState(base({ revision: 2 }));
    expect(cache.get(node)!.version).toBe("1");
    expect(problems[0]!.join("\n")).toContain(`"default/missing"`);
  });
});
