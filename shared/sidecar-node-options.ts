import v8 from "node:v8";
import vm from "node:vm";

// V8 heap settings for sidecar processes. The young-generation cap (SIDECAR_NODE_OPTIONS) is
// applied where a sidecar process is started (tsmesh demo, the injected Kubernetes container,
// docker compose, the test harness and benchmarks): V8 sizes the young generation at startup and
// ignores a later v8.setFlagsFromString for it, so it must be on the command line or in
// NODE_OPTIONS. The old-generation setting (SIDECAR_RUNTIME_V8_FLAGS) works at run time and is
// set by the sidecar itself (applySidecarRuntimeFlags).
//
// Why 4 MB semi-spaces: node's default lets each grow to 16 MB, and under load a sidecar touches
// all of it (new space 32 MB resident). Measured with test/bench/sidecar-rss.ts (sidecar pair
// over mTLS, 1,000 rps and wrk bursts, same run): RSS under load default ~117-129 MB, 4 MB ~92-99,
// 2 MB ~97-100, 1 MB ~92-96 (±5 MB noise); GC share of the sidecar's CPU 6%, 7.5-8%, 10-11%,
// 13-14%. 4 MB keeps nearly all of the saving for ~1.5 points of CPU.
export const SIDECAR_NODE_OPTIONS = "--max-semi-space-size=4";

/**
 * glibc malloc arenas: by default up to 8 per core, and node's threads (V8 platform workers, the
 * libuv pool) each take one, so freed TLS/HTTP buffers sit fragmented in several arenas. Two
 * arenas: RSS after a wrk burst ~101-103 -> ~88-95 MB in the same run, rps unchanged (measured
 * with test/bench/sidecar-rss.ts). Read by glibc at process start: set where the sidecar starts.
 */
export const SIDECAR_MALLOC_ARENA_MAX = "2";

/** Environment additions for a sidecar child process; values already in `base` win. */
export function sidecarEnv(base: NodeJS.ProcessEnv = process.env): { NODE_OPTIONS: string; MALLOC_ARENA_MAX: string } {
  return { NODE_OPTIONS: sidecarNodeOptions(base.NODE_OPTIONS ?? ""), MALLOC_ARENA_MAX: base.MALLOC_ARENA_MAX ?? SIDECAR_MALLOC_ARENA_MAX };
}

/** NODE_OPTIONS for a sidecar child: the given one plus SIDECAR_NODE_OPTIONS unless it sets its own. */
export function sidecarNodeOptions(current = process.env.NODE_OPTIONS ?? ""): string {
  if (/--max-semi-space-size\b/.test(current)) return current;
  return current ? `${current} ${SIDECAR_NODE_OPTIONS}` : SIDECAR_NODE_OPTIONS;
}

/**
 * Old-generation growth: V8 lets the old space grow by up to 4x the live size before a full GC;
 * a sidecar under load promotes in-flight request objects, so RSS climbs on garbage (live ~17 MB,
 * old space 40-50 MB before the collection). 1.2x triggers full (mostly concurrent) GCs sooner.
 * Measured with test/bench/sidecar-rss.ts: peak RSS after a wrk burst ~108 -> ~94-99 MB, GC
 * share of CPU unchanged (5.3-5.6%). Unlike the semi-space size this flag is read at each limit
 * computation, so setting it at startup works.
 */
export const SIDECAR_RUNTIME_V8_FLAGS = ["--heap-growing-percent=20"];

/** Sets SIDECAR_RUNTIME_V8_FLAGS in this process, except a flag already given on the command line or in NODE_OPTIONS. */
export function applySidecarRuntimeFlags(given = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ")): string[] {
  const applied = SIDECAR_RUNTIME_V8_FLAGS.filter((f) => !given.includes(f.split("=")[0]!));
  for (const flag of applied) v8.setFlagsFromString(flag);
  return applied;
}

type Gc = (options?: { type?: "major" | "minor" }) => void;
let exposedGc: Gc | undefined;

/** V8's gc(), taken without --expose-gc on the command line and not left exposed to other code. */
function hiddenGc(): Gc {
  if (!exposedGc) {
    v8.setFlagsFromString("--expose-gc");
    exposedGc = vm.runInNewContext("gc") as Gc;
    v8.setFlagsFromString("--no-expose-gc");
  }
  return exposedGc;
}

/**
 * One full GC once the sidecar is up. Until V8's first full collection its old-generation limit
 * is a generous start value, so the first minutes under load fill the old space with promoted
 * garbage (SIDECAR_RUNTIME_V8_FLAGS only govern limits computed after a full GC). Collecting the
 * startup garbage (~15 MB live) once sets the limit from the live size. Measured with
 * test/bench/sidecar-rss.ts: peak RSS in the first 1,000 rps phase 125 -> 106 MB, during wrk
 * 126 -> 98 MB. A single pause of a few ms at startup.
 */
export function collectStartupGarbage(): void {
  hiddenGc()();
}

/** A young-generation collection (scavenge), for sidecar/memory/idle-scavenger.ts. */
export function minorGc(): () => void {
  const gc = hiddenGc();
  return () => gc({ type: "minor" });
}
