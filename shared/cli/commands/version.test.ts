import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { packageVersion } from "./version.js";

const PKG = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
const CLI = fileURLToPath(new URL("../../../dist/shared/cli/main.js", import.meta.url));

function tsmesh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("tsmesh version", () => {
  it("finds the package.json of tsmesh above the module", () => {
    expect(packageVersion()).toBe(PKG.version);
    expect(packageVersion(new URL("file:///nonexistent/a/b.js"))).toBe("unknown");
  });

  it("the built CLI prints it, as text and as JSON; a bad format exits 2", async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
    const text = await tsmesh(["version"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`tsmesh ${PKG.version} (node ${process.version}, ${process.platform}/${process.arch})\n`);
    const json = await tsmesh(["version", "-o", "json"]);
    expect(JSON.parse(json.stdout)).toEqual({ tsmesh: PKG.version, node: process.version, platform: `${process.platform}/${process.arch}` });
    const bad = await tsmesh(["version", "-o", "xml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("use -o text or -o json");
  });
});
