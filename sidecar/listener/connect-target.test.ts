import { describe, expect, it } from "vitest";
import { parseConnectTarget } from "./connect-target.js";

describe("parseConnectTarget", () => {
  it("authority-form host:port, IPv6 in brackets", () => {
    expect(parseConnectTarget("greeter:50051")).toEqual({ authority: "greeter:50051", host: "greeter", hostname: "greeter", port: 50051 });
    expect(parseConnectTarget("10.0.0.1:443")).toMatchObject({ host: "10.0.0.1", port: 443 });
    expect(parseConnectTarget("[::1]:8443")).toEqual({ authority: "[::1]:8443", host: "[::1]", hostname: "::1", port: 8443 });
  });

  it.each(["greeter", "greeter:", ":80", "greeter:0", "greeter:65536", "greeter:8x", "greeter:+80", "a@b:80", "a/b:80", "[::1:80", "[nothex]:80", "::1:80", "h:80:80", "*:80", "x".repeat(300) + ":80"])(
    "refuses %s",
    (t) => expect(parseConnectTarget(t)).toBeUndefined(),
  );
});
