// Progress while traffic runs: one redrawn line on a terminal, a plain line every few seconds
// otherwise (CI logs, pipes).
import type { Tally } from "./traffic.js";

export interface Progress {
  update(t: Tally): void;
  done(): void;
}

function describe(t: Tally, total: number): string {
  const versions = Object.entries(t.versions)
    .sort()
    .map(([v, n]) => `${v} ${n}`)
    .join("  ");
  return `${t.sent}/${total} requests  ok ${t.ok}  failed ${t.failed}  orders: ${versions || "-"}  ${(t.elapsedMs / 1000).toFixed(1)} s`;
}

export function createProgress(out: NodeJS.WriteStream, total: number, durationMs: number): Progress {
  if (out.isTTY) {
    const width = 24;
    return {
      update(t) {
        const frac = Math.min(1, Math.max(t.sent / total, t.elapsedMs / durationMs));
        const filled = Math.round(frac * width);
        out.write(`\r\x1b[2K[${"#".repeat(filled)}${".".repeat(width - filled)}] ${describe(t, total)}`);
      },
      done() {
        out.write("\n");
      },
    };
  }
  let last = 0;
  let lastDone = -1;
  return {
    update(t) {
      const finished = t.ok + t.failed;
      if (finished === lastDone || (t.elapsedMs - last < 2000 && finished < total)) return;
      last = t.elapsedMs;
      lastDone = finished;
      out.write(`progress: ${describe(t, total)}\n`);
    },
    done() {},
  };
}
