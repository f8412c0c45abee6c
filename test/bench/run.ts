// `npm run bench`: runs every benchmark in this folder one after another (they measure against
// peers in their own run, so they must not overlap) and collects their JSON summary lines into
// test/bench/results/<timestamp>.json. Usage: node dist/test/bench/run.js [name...]
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
// Run from another bench, not on their own: tracing.js is part of dataplane.js.
const NESTED = new Set(["run.js", "tracing.js"]);
const benches = (await fs.readdir(here))
  .filter((f) => f.endsWith(".js") && !NESTED.has(f) && !f.startsWith("_"))
  .map((f) => f.replace(/\.js$/, ""))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

function runOne(name: string): Promise<{ name: string; code: number | null; summaries: unknown[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, `${name}.js`)], { stdio: ["ignore", "pipe", "inherit"] });
    const summaries: unknown[] = [];
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("{")) {
          try {
            summaries.push(JSON.parse(line));
          } catch {
            // progress output that merely starts with a brace
          }
        }
      }
    });
    child.on("exit", (code) => resolve({ name, code, summaries }));
  });
}

const results = [];
for (const name of benches) {
  console.error(`\n== bench ${name}`);
  results.push(await runOne(name));
}
const outDir = path.resolve(here, "../../../test/bench/results");
await fs.mkdir(outDir, { recursive: true });
const file = path.join(outDir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await fs.writeFile(file, JSON.stringify({ node: process.version, results }, null, 2));
console.error(`\nresults: ${path.relative(process.cwd(), file)}`);
for (const r of results) console.error(`${r.code === 0 ? "ok  " : "FAIL"} ${r.name}`);
process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
