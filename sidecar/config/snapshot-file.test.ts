import { describe, expect, it } from "vitest";
import { ConfigError, parseSnapshot } from "./snapshot-file.js";

describe("parseSnapshot", () => {
  it("applies defaults to a minimal file", () => {
    const s = parseSnapshot(JSON.stringify({ endpoints: { b: [{ address: "127.0.0.1", port: 15006 }] } }));
    expect(s.version).toBe("0");
    expect(s.meshConfig.mtls).toBe("STRICT");
    expect(s.meshConfig.trustDomain).toBe("cluster.local");
    expect(s.endpoints.b).toEqual([{ service: "b", instanceId: "127.0.0.1:15006", address: "127.0.0.1", port: 15006, labels: {} }]);
  });

  it("names the offending field", () => {
    const bad = (v: unknown) => () => parseSnapshot(JSON.stringify(v));
    expect(() => parseSnapshot("{")).toThrow(ConfigError);
    expect(bad({ endpoints: { b: [{ address: "x", port: 70000 }] } })).toThrow("endpoints.b[0].port");
    expect(bad({ meshConfig: { mtls: "SOMETIMES" } })).toThrow(/meshConfig/);
    const route = { apiVersion: "tsmesh.dev/v1", kind: "HTTPRoute", metadata: { name: "r" }, spec: { hosts: ["b"], rules: [{ backends: [{ service: "b" }], retry: { attempts: 99 } }] } };
    expect(bad({ routes: [route] })).toThrow(/routes\[0\]: spec\.rules\[0\]\.retry\.attempts/);
  });
});
