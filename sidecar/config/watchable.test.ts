import { describe, expect, it } from "vitest";
import { Watchable } from "./watchable.js";

describe("Watchable", () => {
  it("notifies subscribers with the new and previous value, at once when a value exists", () => {
    const w = new Watchable<number>(1);
    const seen: [number, number | undefined][] = [];
    const stop = w.subscribe((v, prev) => seen.push([v, prev]));
    w.set(2);
    stop();
    w.set(3);
    expect(seen).toEqual([
      [1, undefined],
      [2, 1],
    ]);
    expect(w.get()).toBe(3);
  });

  it("a throwing listener does not stop the others; the value is set and the error rethrown", () => {
    const w = new Watchable<string>();
    let other = "";
    w.subscribe(() => {
      throw new Error("boom");
    });
    w.subscribe((v) => (other = v));
    expect(() => w.set("x")).toThrow("boom");
    expect(other).toBe("x");
    expect(w.get()).toBe("x");
  });
});
