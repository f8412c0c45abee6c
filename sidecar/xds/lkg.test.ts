import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseControlPlanes } from "./addresses.js";
import { loadLastKnownGood, saveLastKnownGood } from "./lkg.js";
import { validateResponse } from "./validate.js";

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-lkg-"));
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

const snap = {
  version: "12",
  meshConfig: { trustDomain: "cluster.local", mtls: "STRICT" as const, logLevel: "info" as const },
  routes: [{ apiVersion: "tsmesh.dev/v1" as const, kind: "HTTPRoute" as const, metadata: { name: "r" }, spec: { hosts: ["a"], rules: [{ backends: [{ service: "b", weight: 1 }] }] } }],
  policies: [],
  authz: [],
  endpoints: { a: [], b: [{ service: "b", instanceId: "b-1", address: "127.0.0.1", port: 15006, labels: {} }] },
  trustBundle: ["PEM"],
};

describe("last-known-good", () => {
  it("round-trips through an atomic write and leaves no temp file", async () => {
    const file = path.join(dir, "nested", "lkg.json");
    await saveLastKnownGood(file, snap);
    expect(await loadLastKnownGood(file)).toEqual(snap);
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(["lkg.json"]);
  });

  it("returns undefined without a file and throws on a corrupt one", async () => {
    expect(await loadLastKnownGood(path.join(dir, "none.json"))).toBeUndefined();
    await fs.writeFile(path.join(dir, "bad.json"), "{not json");
    await expect(loadLastKnownGood(path.join(dir, "bad.json"))).rejects.toThrow(/not valid JSON/);
  });
});

describe("validateResponse", () => {
  const res = (s: unknown, version = "12") => ({ versionInfo: version, nonce: "n", snapshotJson: JSON.stringify(s), trustBundlePem: [] });
  it("accepts a valid snapshot", () => {
    expect(validateResponse(res(snap)).routes).toHaveLength(1);
  });
  it("rejects a schema violation with the field, a version mismatch and an unknown backend", () => {
    const bad = { ...snap, routes: [{ ...snap.routes[0], spec: { hosts: ["a"], rules: [{ backends: [{ service: "b", weight: -1 }] }] } }] };
    expect(() => validateResponse(res(bad))).toThrow(/routes\[0\].*weight/);
    expect(() => validateResponse(res(snap, "13"))).toThrow(/differs from version_info 13/);
    expect(() => validateResponse(res({ ...snap, endpoints: { a: [] } }))).toThrow(/backend service b has no endpoints entry/);
  });
});

describe("parseControlPlanes", () => {
  it("splits and checks host:port lists", () => {
    expect(parseControlPlanes("127.0.0.1:15012, cp-2:15012")).toEqual(["127.0.0.1:15012", "cp-2:15012"]);
    expect(() => parseControlPlanes("nope")).toThrow(/not host:port/);
    expect(() => parseControlPlanes(",")).toThrow(/at least one/);
  });
});
