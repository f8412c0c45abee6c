import { describe, expect, it } from "vitest";
import { concreteName, parseConcrete, pickBackend } from "./pick.js";

const b = (service: string, weight: number, subset?: string) => ({ service, weight, ...(subset ? { subset } : {}) });

describe("pickBackend", () => {
  it("maps the random point onto cumulative weights", () => {
    const backends = [b("a", 1), b("b", 0), b("c", 3)];
    expect(pickBackend(backends, () => 0)?.service).toBe("a");
    expect(pickBackend(backends, () => 0.24)?.service).toBe("a");
    expect(pickBackend(backends, () => 0.25)?.service).toBe("c");
    expect(pickBackend(backends, () => 0.999999999)?.service).toBe("c");
  });

  it("never picks a zero-weight backend and returns undefined when all are zero", () => {
    expect(pickBackend([b("a", 0), b("b", 0)])).toBeUndefined();
    expect(pickBackend([b("a", 0)])).toBeUndefined();
    expect(pickBackend([b("a", 0), b("b", 2)], () => 0)?.service).toBe("b");
  });

  it("follows the weights over many picks (90/10 within 2 points)", () => {
    const counts = { a: 0, b: 0 };
    const backends = [b("a", 90), b("b", 10)];
    for (let i = 0; i < 20_000; i++) counts[pickBackend(backends)!.service as "a" | "b"]++;
    expect(counts.b / 20_000).toBeGreaterThan(0.08);
    expect(counts.b / 20_000).toBeLessThan(0.12);
  });
});

describe("concrete names", () => {
  it("round-trips service and subset", () => {
    expect(concreteName(b("shop/reviews", 1, "v2"))).toBe("shop/reviews/v2");
    expect(parseConcrete("shop/reviews/v2")).toEqual({ service: "shop/reviews", subset: "v2" });
    expect(parseConcrete("shop/reviews")).toEqual({ service: "shop/reviews" });
    expect(parseConcrete("reviews")).toEqual({ service: "reviews" });
  });
});
