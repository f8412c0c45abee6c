import { describe, expect, it } from "vitest";
import { OutlierDetector, type EjectionEvent, type OutlierSpec } from "./detector.js";

const spec = (over: Partial<OutlierSpec> = {}): OutlierSpec => ({ consecutive5xx: 3, interval: "1s", baseEjectionTime: "10s", maxEjectionPercent: 50, ...over });

function setup(over: Partial<OutlierSpec> = {}, endpoints = ["a", "b", "c", "d"]) {
  let now = 1000;
  const events: EjectionEvent[] = [];
  const d = new OutlierDetector("svc", spec(over), (e) => events.push(e), () => now);
  d.setEndpoints(endpoints);
  return { d, events, advance: (ms: number) => (now += ms) };
}

describe("OutlierDetector", () => {
  it("ejects after consecutive5xx failures in a row; a success resets the count", () => {
    const { d, events } = setup();
    d.report("a", "5xx");
    d.report("a", "5xx");
    d.report("a", "success");
    d.report("a", "5xx");
    d.report("a", "connect-failure");
    expect(d.isEjected("a")).toBe(false);
    d.report("a", "timeout");
    expect(d.isEjected("a")).toBe(true);
    expect(events).toEqual([{ service: "svc", address: "a", times: 1, durationMs: 10_000 }]);
  });

  it("un-ejects after the ejection time and grows the time with each ejection", () => {
    const { d, events, advance } = setup();
    const fail3 = () => ["5xx", "5xx", "5xx"].forEach(() => d.report("a", "5xx"));
    fail3();
    advance(9_999);
    expect(d.isEjected("a")).toBe(true);
    advance(1);
    expect(d.isEjected("a")).toBe(false);
    fail3();
    expect(events.map((e) => e.durationMs)).toEqual([10_000, 20_000]);
    advance(19_999);
    expect(d.isEjected("a")).toBe(true);
  });

  it("decays the multiplier by one per healthy interval", () => {
    const { d, events, advance } = setup();
    const fail3 = () => ["5xx", "5xx", "5xx"].forEach(() => d.report("a", "5xx"));
    fail3();
    advance(10_000);
    fail3(); // immediately: times 2
    advance(20_000 + 5_000); // 5 healthy intervals after the ejection ended
    fail3();
    expect(events.map((e) => e.times)).toEqual([1, 2, 1]);
  });

  it("ignores late reports about an ejected endpoint", () => {
    const { d, events } = setup();
    for (let i = 0; i < 6; i++) d.report("a", "5xx");
    expect(events).toHaveLength(1);
  });

  it("caps ejections at maxEjectionPercent, at least one, and always keeps one endpoint", () => {
    const half = setup({ maxEjectionPercent: 50 });
    for (const a of ["a", "b", "c"]) for (let i = 0; i < 3; i++) half.d.report(a, "5xx");
    expect(half.d.ejected()).toEqual(["a", "b"]);

    const tiny = setup({ maxEjectionPercent: 10 }, ["a", "b", "c"]);
    for (const a of ["a", "b"]) for (let i = 0; i < 3; i++) tiny.d.report(a, "5xx");
    expect(tiny.d.ejected()).toEqual(["a"]);

    const single = setup({ maxEjectionPercent: 99 }, ["a"]);
    for (let i = 0; i < 3; i++) single.d.report("a", "5xx");
    expect(single.d.isEjected("a")).toBe(false);

    const all = setup({ maxEjectionPercent: 100 }, ["a", "b"]);
    for (const a of ["a", "b"]) for (let i = 0; i < 3; i++) all.d.report(a, "5xx");
    expect(all.d.ejected()).toEqual(["a", "b"]);
  });

  it("ejects a blocked endpoint once another ejection ends", () => {
    const { d, advance } = setup({ maxEjectionPercent: 10 }, ["a", "b", "c"]);
    for (let i = 0; i < 3; i++) d.report("a", "5xx");
    for (let i = 0; i < 3; i++) d.report("b", "5xx");
    expect(d.isEjected("b")).toBe(false);
    advance(10_000);
    d.report("b", "5xx");
    expect(d.ejected()).toEqual(["b"]);
  });

  it("forgets endpoints removed from the service", () => {
    const { d } = setup();
    for (let i = 0; i < 3; i++) d.report("a", "5xx");
    d.setEndpoints(["b", "c"]);
    expect(d.isEjected("a")).toBe(false);
  });
});
