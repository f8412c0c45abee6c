// `tsmesh demo` from the built tree, as a newcomer runs it: completes, reports both orders
// versions and retries, and leaves no process behind (also when interrupted with Ctrl-C).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLI } from "../harness/processes.js";

interface Done {
  code: number | null;
  out: string;
  err: string;
}

function demo(args: string[], onOut?: (out: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Done> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, "demo", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TSMESH_JAEGER_URL: "http://127.0.0.1:16686" } });
    let out = "";
    let err = "";
    const guard = setTimeout(() => proc.kill("SIGKILL"), 150_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      onOut?.(out, (s) => proc.kill(s));
    });
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    proc.once("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, out, err });
    });
  });
}

/** Processes whose command line mentions the demo's temp dir (etcd, sidecars). */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const dataDir = (out: string) => /data in (\/\S+)/.exec(out)?.[1];

describe("tsmesh demo", () => {
  it("runs to completion and reports the canary split, retries and trace links", async () => {
    const r = await demo(["--requests", "200"]);
    expect(r.code, r.err).toBe(0);
    const split = /observed v1 [\d.]+% \((\d+)\) \/ v2 [\d.]+% \((\d+)\)/.exec(r.out);
    expect(split, r.out).not.toBeNull();
    expect(Number(split![1])).toBeGreaterThan(0);
    expect(Number(split![2])).toBeGreaterThan(0);
    expect(Number(split![1]) + Number(split![2])).toBeGreaterThan(190);
    const retries = /retries\s+(\d+) \(/.exec(r.out);
    expect(Number(retries?.[1])).toBeGreaterThan(0);
    expect(r.out).toMatch(/jaeger\s+http:\/\/127\.0\.0\.1:16686\/trace\/[0-9a-f]{32}/);
    expect(r.out).toContain("progress: 200/200");
    const dir = dataDir(r.out)!;
    expect(leftovers(dir)).toEqual([]);
  }, 150_000);

  it("Ctrl-C during traffic stops it, cleans up and exits 130", async () => {
    let sent = false;
    const r = await demo(["--requests", "100000", "--duration", "60s"], (out, kill) => {
      if (!sent && out.includes("driving traffic")) {
        sent = true;
        setTimeout(() => kill("SIGINT"), 500);
      }
    });
    expect(sent, r.out + r.err).toBe(true);
    expect(r.code, r.err).toBe(130);
    expect(r.out).toContain("shutting down");
    expect(leftovers(dataDir(r.out)!)).toEqual([]);
  }, 150_000);

  it("bad flags are refused before anything starts", async () => {
    const r = await demo(["--requests", "0"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--requests must be/);
    expect(r.out).toBe("");
  });
});
