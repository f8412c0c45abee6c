import { setImmediate as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { minorGc } from "../../shared/sidecar-node-options.js";
import { IdleScavenger, newSpace, type YoungGeneration } from "./idle-scavenger.js";

function scavengerWith(young: YoungGeneration, busy = () => false, fullness?: number) {
  const runs: number[] = [];
  const s = new IdleScavenger({ scavenge: () => runs.push(Date.now()), busy, fullness, youngGeneration: () => young });
  return { s, runs };
}

describe("IdleScavenger", () => {
  it("collects after the I/O batch once the young generation is full enough, once per batch", async () => {
    const { s, runs } = scavengerWith({ used: 3, capacity: 8 }, () => false, 0.25);
    s.notify();
    s.notify();
    expect(runs).toHaveLength(0); // not inside the batch that ended the request
    await tick();
    expect(runs).toHaveLength(1);
    expect(s.collections).toBe(1);
  });

  it("skips while a request is in flight again, and while the young generation is nearly empty", async () => {
    let inFlight = 1;
    const busy = scavengerWith({ used: 8, capacity: 8 }, () => inFlight > 0);
    busy.s.notify();
    await tick();
    expect(busy.runs).toHaveLength(0);
    inFlight = 0;
    busy.s.notify();
    await tick();
    expect(busy.runs).toHaveLength(1);

    const empty = scavengerWith({ used: 1, capacity: 8 }, () => false, 0.25);
    empty.s.notify();
    await tick();
    expect(empty.runs).toHaveLength(0);
  });

  it("runs V8's young-generation collection: garbage in the new space is gone after it", () => {
    const scavenge = minorGc();
    let keep: unknown[] = [];
    for (let i = 0; i < 2_000; i++) keep.push({ i, pad: new Array(16).fill(i) });
    keep = [];
    const before = newSpace().used;
    scavenge();
    const after = newSpace().used;
    expect(keep).toHaveLength(0);
    expect(before).toBeGreaterThan(256 * 1024);
    expect(after).toBeLessThan(before / 2);
  });
});
