import { describe, expect, it } from "vitest";
import { controlPlaneChannelOptions } from "./client.js";

describe("controlPlaneChannelOptions", () => {
  it("replaces an IP target's SNI (RFC 6066 forbids IPs there; Node warns DEP0123)", () => {
    for (const a of ["127.0.0.1:15012", "10.1.2.3:1", "[::1]:15012", "[fd00::5]:443"]) {
      expect(controlPlaneChannelOptions(a)).toEqual({ "grpc.ssl_target_name_override": "localhost" });
    }
  });
  it("leaves DNS names alone", () => {
    for (const a of ["localhost:15012", "tsmesh-control-plane.tsmesh-system.svc:15012", "cp-1:15012"]) expect(controlPlaneChannelOptions(a)).toEqual({});
  });
});
