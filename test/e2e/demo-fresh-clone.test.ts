// "From a fresh clone": the committed tree (a `git clone` of HEAD, so nothing uncommitted or
// ignored can help) builds and runs `npm run demo` to completion. Dependencies come from this
// checkout's node_modules (symlinked) — `npm ci` itself is what CI already ran.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const isGit = existsSync(path.join(ROOT, ".git"));
let dir: string | undefined;

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isGit)("npm run demo from a fresh clone", () => {
  it("builds the committed tree and completes the demo", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "tsmesh-clone-"));
    const clone = path.join(dir, "tsmesh");
    execFileSync("git", ["clone", "--quiet", "--depth", "1", `file://${ROOT}`, clone], { stdio: "ignore", timeout: 60_000 });
    symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"), "dir");
    const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const npm = process.platform === "win32" ? "npm.cmd" : "npm";
      const proc = spawn(npm, ["run", "demo", "--", "--requests", "100"], { cwd: clone, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      const guard = setTimeout(() => proc.kill("SIGKILL"), 230_000);
      proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
      proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
      proc.once("exit", (code) => {
        clearTimeout(guard);
        resolve({ code, out, err });
      });
    });
    expect(result.code, result.out + result.err).toBe(0);
    expect(result.out).toMatch(/tsmesh demo summary/);
    expect(result.out).toMatch(/observed v1 [\d.]+% \(\d+\) \/ v2/);
  }, 240_000);
});
