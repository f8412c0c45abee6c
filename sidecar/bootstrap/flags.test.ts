import { describe, expect, it } from "vitest";
import { parseLabels, resolveBootstrap } from "./flags.js";

describe("parseLabels", () => {
  it("reads k=v pairs and ignores blanks", () => {
    expect(parseLabels("version=v2, app=orders,")).toEqual({ version: "v2", app: "orders" });
    expect(parseLabels(undefined)).toEqual({});
  });
  it("refuses malformed or repeated pairs", () => {
    expect(() => parseLabels("version")).toThrow(/key=value/);
    expect(() => parseLabels("a=1,a=2")).toThrow(/twice/);
    expect(() => parseLabels("bad key=1")).toThrow(/key=value/);
  });
});

describe("resolveBootstrap", () => {
  it("is undefined without a control plane (static mode)", () => {
    expect(resolveBootstrap({}, {})).toBeUndefined();
  });
  it("takes --token, else --bootstrap-token, else TSMESH_BOOTSTRAP_TOKEN, never TSMESH_TOKEN", () => {
    const base = { controlPlane: "127.0.0.1:15012", caBundle: "b.crt" };
    expect(resolveBootstrap({ ...base, token: "t1" }, {})?.token).toBe("t1");
    expect(resolveBootstrap({ ...base, bootstrapToken: "t2" }, {})?.token).toBe("t2");
    expect(resolveBootstrap(base, { TSMESH_BOOTSTRAP_TOKEN: "t3", TSMESH_TOKEN: "admin" })?.token).toBe("t3");
    expect(resolveBootstrap(base, { TSMESH_TOKEN: "admin" })?.token).toBeUndefined();
    expect(() => resolveBootstrap({ ...base, token: "a", bootstrapToken: "b" }, {})).toThrow(/differ/);
  });
  it("--token-file (or TSMESH_BOOTSTRAP_TOKEN_FILE) when no token is given; --namespace, else POD_NAMESPACE", () => {
    const base = { controlPlane: "127.0.0.1:15012", caBundle: "b.crt" };
    expect(resolveBootstrap({ ...base, tokenFile: "/sa/token" }, { TSMESH_BOOTSTRAP_TOKEN: "t3" })).toMatchObject({ token: undefined, tokenFile: "/sa/token" });
    expect(resolveBootstrap(base, { TSMESH_BOOTSTRAP_TOKEN_FILE: "/sa/token" })?.tokenFile).toBe("/sa/token");
    expect(() => resolveBootstrap({ ...base, token: "t", tokenFile: "/sa/token" }, {})).toThrow(/--token-file/);
    expect(resolveBootstrap(base, { POD_NAMESPACE: "shop" })?.namespace).toBe("shop");
    expect(resolveBootstrap({ ...base, namespace: "ops" }, { POD_NAMESPACE: "shop" })?.namespace).toBe("ops");
    expect(resolveBootstrap(base, {})?.namespace).toBeUndefined();
  });
  it("needs a CA bundle and well-formed addresses", () => {
    expect(() => resolveBootstrap({ controlPlane: "127.0.0.1:15012" }, {})).toThrow(/--ca-bundle/);
    expect(resolveBootstrap({ controlPlane: "127.0.0.1:15012" }, { TSMESH_CA_BUNDLE: "/x.crt" })?.caBundleFile).toBe("/x.crt");
    expect(() => resolveBootstrap({ controlPlane: "nope", caBundle: "b" }, {})).toThrow(/host:port/);
    expect(resolveBootstrap({ controlPlane: "a:1,b:2", caBundle: "b", labels: "version=v1" }, { POD_IP: "10.0.0.5", POD_NAME: "p-1" })).toMatchObject({
      controlPlanes: ["a:1", "b:2"],
      labels: { version: "v1" },
      advertiseAddress: "10.0.0.5",
      instanceId: "p-1",
    });
  });
});
