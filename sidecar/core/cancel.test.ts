import { describe, expect, it } from "vitest";
import { Cancellation } from "./cancel.js";

describe("Cancellation", () => {
  it("runs each listener once with the reason set, and not the removed ones", () => {
    const c = new Cancellation();
    const seen: unknown[] = [];
    const removed = () => seen.push("removed");
    c.addEventListener("abort", () => seen.push(c.reason));
    c.addEventListener("abort", removed);
    c.removeEventListener("abort", removed);
    c.abort("why");
    c.abort("again");
    expect(seen).toEqual(["why"]);
    expect(c.aborted).toBe(true);
  });

  it("under() follows its parent, whether already aborted or later, with the parent's reason", () => {
    const parent = new Cancellation();
    const child = Cancellation.under(parent);
    expect(child.aborted).toBe(false);
    parent.abort("gone");
    expect(child.reason).toBe("gone");
    expect(Cancellation.under(parent).aborted).toBe(true);
    // A child's own abort does not reach the parent.
    const p2 = new Cancellation();
    Cancellation.under(p2).abort("deadline");
    expect(p2.aborted).toBe(false);
  });

  it("under() accepts a real AbortSignal as parent", () => {
    const ac = new AbortController();
    const child = Cancellation.under(ac.signal);
    ac.abort("x");
    expect(child.reason).toBe("x");
  });
});
