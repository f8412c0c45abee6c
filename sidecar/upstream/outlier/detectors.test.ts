import { describe, expect, it } from "vitest";
import { OutlierDetectors } from "./detectors.js";

const spec = { consecutive5xx: 1, interval: "1s", baseEjectionTime: "10s", maxEjectionPercent: 50 };

describe("OutlierDetectors", () => {
  it("applies endpoints announced before the detector existed to maxEjectionPercent", () => {
    const detectors = new OutlierDetectors();
    detectors.setEndpoints("svc", ["a", "b", "c", "d"]);
    const d = detectors.for("svc", spec)!;
    for (const a of ["a", "b", "c"]) d.report(a, "5xx");
    // 50% of 4 known endpoints: two ejected even though only three ever answered.
    expect(d.ejected()).toEqual(["a", "b"]);
  });

  it("keeps state across policy updates and drops the detector when the policy disables it", () => {
    const detectors = new OutlierDetectors();
    detectors.setEndpoints("svc", ["a", "b"]);
    const d = detectors.for("svc", spec)!;
    d.report("a", "5xx");
    expect(detectors.for("svc", { ...spec, baseEjectionTime: "20s" })).toBe(d);
    expect(detectors.isEjected("svc", "a")).toBe(true);
    expect(detectors.for("svc", undefined)).toBeUndefined();
    expect(detectors.isEjected("svc", "a")).toBe(false);
  });
});
