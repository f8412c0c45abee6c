import { describe, expect, it } from "vitest";
import { isWorkloadTtl, parseWorkloadTtl } from "./workload-ttl.js";

describe("workload certificate lifetime", () => {
  it("accepts 10m to 720h and refuses anything else", () => {
    expect(parseWorkloadTtl("10m")).toBe(600_000);
    expect(parseWorkloadTtl("24h")).toBe(86_400_000);
    expect(parseWorkloadTtl("720h")).toBe(720 * 3_600_000);
    for (const bad of ["9m59s", "60s", "721h", "0s", "", "1d", "24", "-1h", "abc"]) expect(isWorkloadTtl(bad), bad).toBe(false);
    expect(() => parseWorkloadTtl("60s")).toThrow(/from 10m to 720h .*got "60s"/);
  });
});
