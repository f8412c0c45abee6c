import { describe, expect, it } from "vitest";
import { isLoopback } from "./server.js";

describe("isLoopback", () => {
  it("accepts IPv4/IPv6 loopback forms only", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["10.0.0.5", "::ffff:10.0.0.5", "fe80::1", "", undefined, "127.0.0.1.evil"]) expect(isLoopback(a)).toBe(false);
  });
});
