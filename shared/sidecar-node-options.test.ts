import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { applySidecarRuntimeFlags, collectStartupGarbage, SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS, SIDECAR_RUNTIME_V8_FLAGS, sidecarEnv, sidecarNodeOptions } from "./sidecar-node-options.js";

// Allocates short-lived garbage (the young generation grows to its cap) and prints new space's size.
const PROBE = `let k=[];for(let i=0;i<2e6;i++){k.push({a:i,b:"x"+i});if(k.length>20000)k=[]}
console.log(require("v8").getHeapSpaceStatistics().find((s)=>s.space_name==="new_space").space_size)`;
const newSpaceMb = (nodeOptions: string) =>
  Number(execFileSync(process.execPath, ["-e", PROBE], { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: "utf8", timeout: 20_000 })) / 2 ** 20;

describe("sidecarNodeOptions", () => {
  it("sidecarEnv: adds both settings, values already in the environment win", () => {
    expect(sidecarEnv({})).toEqual({ NODE_OPTIONS: SIDECAR_NODE_OPTIONS, MALLOC_ARENA_MAX: SIDECAR_MALLOC_ARENA_MAX });
    expect(sidecarEnv({ MALLOC_ARENA_MAX: "4", NODE_OPTIONS: "--max-semi-space-size=8" })).toEqual({ NODE_OPTIONS: "--max-semi-space-size=8", MALLOC_ARENA_MAX: "4" });
  });

  it("adds the setting to NODE_OPTIONS, keeps what is there, and never overrides an explicit semi-space size", () => {
    expect(sidecarNodeOptions("")).toBe(SIDECAR_NODE_OPTIONS);
    expect(sidecarNodeOptions("--enable-source-maps")).toBe(`--enable-source-maps ${SIDECAR_NODE_OPTIONS}`);
    expect(sidecarNodeOptions("--max-semi-space-size=8")).toBe("--max-semi-space-size=8");
  });

  it("is accepted in NODE_OPTIONS and caps the young generation of a real node process", () => {
    const capped = newSpaceMb(sidecarNodeOptions(""));
    const free = newSpaceMb("");
    expect(capped).toBeLessThanOrEqual(8); // two 4 MB semi-spaces
    expect(free).toBeGreaterThan(capped);
  });
});

// Promotes short-lived batches to the old space (like in-flight requests under load), drops them,
// and prints the peak heap size in MB, after setting the given V8 flags at run time.
const OLD_GEN_PROBE = `
const v8 = require("node:v8");
for (const f of process.argv.slice(1)) v8.setFlagsFromString(f);
(async () => {
  let peak = 0;
  for (let round = 0; round < 60; round++) {
    let keep = [];
    for (let i = 0; i < 60000; i++) keep.push({ a: i, s: "v" + i });
    for (let j = 0; j < 60000; j++) ({ t: j });
    keep = null;
    peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
    await new Promise((r) => setImmediate(r));
  }
  console.log(peak / 2 ** 20);
})();`;
const oldGenPeakMb = (runtimeFlags: string[]) =>
  Number(
    execFileSync(process.execPath, ["-e", OLD_GEN_PROBE, ...runtimeFlags], {
      env: { ...process.env, NODE_OPTIONS: SIDECAR_NODE_OPTIONS },
      encoding: "utf8",
      timeout: 30_000,
    }),
  );

describe("applySidecarRuntimeFlags", () => {
  it("skips a flag the operator already gave", () => {
    expect(applySidecarRuntimeFlags("--heap-growing-percent=50")).toEqual([]);
  });

  it("sets flags that take effect at run time: old-space garbage is collected at a lower heap size", () => {
    const plain = oldGenPeakMb([]);
    const applied = oldGenPeakMb(SIDECAR_RUNTIME_V8_FLAGS);
    expect(applied).toBeLessThan(plain * 0.8);
  });
});

describe("collectStartupGarbage", () => {
  it("runs a full (mark-compact) collection without --expose-gc and leaves gc unexposed", async () => {
    const seen: PerformanceEntry[] = [];
    const obs = new PerformanceObserver((list) => seen.push(...list.getEntries()));
    obs.observe({ entryTypes: ["gc"] });
    collectStartupGarbage();
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    const MAJOR = 4; // perf_hooks.constants.NODE_PERFORMANCE_GC_MAJOR
    expect(seen.some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === MAJOR)).toBe(true);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("undefined");
  });
});
