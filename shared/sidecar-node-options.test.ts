import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SIDECAR_NODE_OPTIONS, sidecarNodeOptions } from "./sidecar-node-options.js";

// Allocates short-lived garbage (the young generation grows to its cap) and prints new space's size.
const PROBE = `let k=[];for(let i=0;i<2e6;i++){k.push({a:i,b:"x"+i});if(k.length>20000)k=[]}
console.log(require("v8").getHeapSpaceStatistics().find((s)=>s.space_name==="new_space").space_size)`;
const newSpaceMb = (nodeOptions: string) =>
  Number(execFileSync(process.execPath, ["-e", PROBE], { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: "utf8", timeout: 20_000 })) / 2 ** 20;

describe("sidecarNodeOptions", () => {
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
