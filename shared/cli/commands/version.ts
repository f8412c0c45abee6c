// `tsmesh version [-o json]`: this CLI's version, from the package.json it was installed with,
// and the Node.js running it. No network: it answers even when nothing else works.
import { readFileSync } from "node:fs";
import type { Command } from "commander";

/** The tsmesh package.json above this module (dist/shared/cli/commands or shared/cli/commands). */
export function packageVersion(from: URL = new URL(import.meta.url)): string {
  for (let dir = new URL("./", from); ; dir = new URL("../", dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "tsmesh" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    if (dir.pathname === "/") return "unknown";
  }
}

export function register(program: Command): void {
  program
    .command("version")
    .description("print the tsmesh version and the Node.js running it")
    .option("-o, --output <format>", "text or json", "text")
    .action((flags: { output: string }) => {
      const v = { tsmesh: packageVersion(), node: process.version, platform: `${process.platform}/${process.arch}` };
      if (flags.output === "json") process.stdout.write(`${JSON.stringify(v)}\n`);
      else if (flags.output === "text") process.stdout.write(`tsmesh ${v.tsmesh} (node ${v.node}, ${v.platform})\n`);
      else {
        process.stderr.write(`tsmesh version: unknown output format "${flags.output}"; use -o text or -o json\n`);
        process.exitCode = 2;
      }
    });
}
