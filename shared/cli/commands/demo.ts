// `tsmesh demo [--requests N] [--duration 20s] [--concurrency 8] [--canary 10]
// [--inventory-failure-rate 0.2]`: the whole mesh on this machine in one command (shared/demo).
// Exits 0 when the demo ran, 1 when it could not; Ctrl-C stops the traffic and cleans up.
import type { Command } from "commander";
import { parseDuration } from "../../duration.js";
import { runDemo } from "../../demo/index.js";
import { CliError } from "../api-client.js";

interface DemoFlags {
  requests: string;
  duration: string;
  concurrency: string;
  canary: string;
  inventoryFailureRate: string;
}

function number(name: string, value: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) throw new CliError(`--${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max} (got "${value}")`);
  return n;
}

export function register(program: Command): void {
  program
    .command("demo")
    .description("run etcd, the control plane and three meshed services locally, drive traffic, show what the mesh did")
    .option("--requests <n>", "stop after this many requests", "1000")
    .option("--duration <d>", "stop after this long (e.g. 20s)", "20s")
    .option("--concurrency <n>", "requests in flight at once", "8")
    .option("--canary <percent>", "share of orders traffic for v2", "10")
    .option("--inventory-failure-rate <r>", "fraction of inventory requests that fail (0..1)", "0.2")
    .action(async (flags: DemoFlags) => {
      let opts;
      try {
        let durationMs: number;
        try {
          durationMs = parseDuration(flags.duration);
        } catch {
          throw new CliError(`--duration must be a duration like 20s or 1m (got "${flags.duration}")`);
        }
        if (durationMs < 1000 || durationMs > 3_600_000) throw new CliError("--duration must be from 1s to 1h");
        opts = {
          requests: number("requests", flags.requests, 1, 1_000_000),
          durationMs,
          concurrency: number("concurrency", flags.concurrency, 1, 256),
          canaryPercent: number("canary", flags.canary, 0, 100),
          inventoryFailureRate: number("inventory-failure-rate", flags.inventoryFailureRate, 0, 0.9, false),
        };
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const abort = new AbortController();
      const interrupt = () => {
        // First Ctrl-C: stop traffic and clean up; a second one: leave now (children are killed on exit).
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write("\ninterrupted: stopping traffic and shutting down\n");
        abort.abort();
      };
      process.on("SIGINT", interrupt);
      process.on("SIGTERM", interrupt);
      try {
        await runDemo({ ...opts, out: process.stdout, signal: abort.signal });
        process.exit(abort.signal.aborted ? 130 : 0);
      } catch (err) {
        process.stderr.write(`error: demo failed: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
}
