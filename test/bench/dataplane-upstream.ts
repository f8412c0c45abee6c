// Which upstream client should the sidecar use? A bare proxy hop (no mesh layers, plaintext)
// forwarding with http-proxy, an undici Pool or the sidecar's own pool (sidecar/upstream/h1),
// against the same app in the same run, plus direct as the reference. Prints one JSON line. Usage:
//   node dist/test/bench/dataplane-upstream.js [wrkSeconds=5] [rounds=2]
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { hey, round, spawnWithPort, wrk } from "./_tools.js";

const WRK_SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 2);
const here = fileURLToPath(new URL(".", import.meta.url));
const children: ChildProcess[] = [];
try {
  const app = await spawnWithPort([join(here, "_bench-app.js")]);
  children.push(app.proc);
  const proxies: Record<string, number> = {};
  for (const mode of ["http-proxy", "undici", "tsmesh-h1"]) {
    const p = await spawnWithPort([join(here, "_bare-proxy.js"), mode, String(app.port)]);
    children.push(p.proc);
    proxies[mode] = p.port;
  }
  const results: Record<string, { rps: number[]; p99MsAt1000: number[] }> = {};
  // Alternate the modes over rounds so drifting background load hits both alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, port] of [["direct", app.port], ...Object.entries(proxies)] as [string, number][]) {
      const url = `http://127.0.0.1:${port}/`;
      await wrk(url, undefined, 1, 4);
      const w = await wrk(url, undefined, WRK_SECONDS, 16);
      const h = await hey(url, undefined, 3, 10, 100);
      results[name] ??= { rps: [], p99MsAt1000: [] };
      results[name].rps.push(w.rps);
      results[name].p99MsAt1000.push(h.p99Ms);
      process.stderr.write(`[upstream bench] round ${r} ${name}: ${w.rps} rps, p99 ${h.p99Ms} ms at 1000 rps\n`);
    }
  }
  const best = (name: string) => Math.max(...results[name]!.rps);
  console.log(
    JSON.stringify({
      bench: "dataplane-upstream",
      results,
      undiciVsHttpProxyRps: round(best("undici") / best("http-proxy")),
      tsmeshH1VsUndiciRps: round(best("tsmesh-h1") / best("undici")),
      chosen: ["http-proxy", "undici", "tsmesh-h1"].reduce((x, y) => (best(y) > best(x) ? y : x)),
    }),
  );
} finally {
  for (const c of children) c.kill("SIGTERM");
}
