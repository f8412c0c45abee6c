import { describe, expect, it } from "vitest";
import { parseAppProbers } from "./app-probers.js";

describe("parseAppProbers", () => {
  it("reads what injection writes", () => {
    const m = parseAppProbers(
      JSON.stringify({
        "/app-health/web/readyz": { httpGet: { path: "/h", port: 8080, scheme: "HTTP", httpHeaders: [{ name: "X", value: "1" }] }, timeoutSeconds: 2 },
        "/app-health/web/livez": { tcpSocket: { port: 9090 }, timeoutSeconds: 1 },
        "/app-health/rpc/startupz": { grpc: { port: 9000 } },
      }),
    );
    expect([...m.keys()]).toEqual(["/app-health/web/readyz", "/app-health/web/livez", "/app-health/rpc/startupz"]);
    expect(m.get("/app-health/rpc/startupz")).toEqual({ grpc: { port: 9000 }, timeoutSeconds: 1 });
    expect(parseAppProbers(undefined).size).toBe(0);
    expect(parseAppProbers("").size).toBe(0);
  });

  it("rejects malformed values with TSMESH_ERR_APP_PROBERS naming the entry", () => {
    const bad: [string, RegExp][] = [
      ["{", /not JSON/],
      ["[]", /expected a JSON object/],
      [JSON.stringify({ "/elsewhere": { tcpSocket: { port: 1 } } }), /"\/elsewhere" is not \/app-health/],
      [JSON.stringify({ "/app-health/web/readyz": { tcpSocket: { port: 0 } } }), /web\/readyz: tcpSocket.port must be a port number/],
      [JSON.stringify({ "/app-health/web/readyz": { tcpSocket: { port: 1 }, grpc: { port: 2 } } }), /exactly one of/],
      [JSON.stringify({ "/app-health/web/readyz": { exec: { command: ["x"] } } }), /exactly one of/],
      [JSON.stringify({ "/app-health/web/readyz": { httpGet: { port: 1, scheme: "FTP" } } }), /scheme must be HTTP or HTTPS/],
      [JSON.stringify({ "/app-health/web/readyz": { httpGet: { port: 1, path: "x" } } }), /path must start with/],
      [JSON.stringify({ "/app-health/web/readyz": { tcpSocket: { port: 1 }, timeoutSeconds: -1 } }), /timeoutSeconds/],
    ];
    for (const [json, msg] of bad) {
      expect(() => parseAppProbers(json), json).toThrow(msg);
      try {
        parseAppProbers(json);
      } catch (err) {
        expect((err as { code?: string }).code).toBe("TSMESH_ERR_APP_PROBERS");
      }
    }
  });
});
