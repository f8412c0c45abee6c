// V8 heap setting for sidecar processes, applied where a sidecar process is started (tsmesh demo,
// the injected Kubernetes container, docker compose, the test harness and benchmarks). It has to
// be on the node command line or in NODE_OPTIONS: V8 sizes the young generation at startup and
// ignores a later v8.setFlagsFromString for it.
//
// Why 4 MB semi-spaces: node's default lets each grow to 16 MB, and under load a sidecar touches
// all of it (new space 32 MB resident). Measured with test/bench/sidecar-rss.ts (sidecar pair
// over mTLS, 1,000 rps and wrk bursts, same run): RSS under load default ~117-129 MB, 4 MB ~92-99,
// 2 MB ~97-100, 1 MB ~92-96 (±5 MB noise); GC share of the sidecar's CPU 6%, 7.5-8%, 10-11%,
// 13-14%. 4 MB keeps nearly all of the saving for ~1.5 points of CPU.
export const SIDECAR_NODE_OPTIONS = "--max-semi-space-size=4";

/** NODE_OPTIONS for a sidecar child: the given one plus SIDECAR_NODE_OPTIONS unless it sets its own. */
export function sidecarNodeOptions(current = process.env.NODE_OPTIONS ?? ""): string {
  if (/--max-semi-space-size\b/.test(current)) return current;
  return current ? `${current} ${SIDECAR_NODE_OPTIONS}` : SIDECAR_NODE_OPTIONS;
}
