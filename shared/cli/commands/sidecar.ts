// `tsmesh sidecar`: runs the data plane for one service. Either static (--config FILE snapshot,
// --cert/--key/--ca) or joined to the control plane (--control-plane + --token + --ca-bundle:
// certificate from the CA, config pushed; sidecar/bootstrap). SIGTERM/SIGINT and POST /quit drain.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { createLogger } from "../../log.js";
import { applySidecarRuntimeFlags, collectStartupGarbage } from "../../sidecar-node-options.js";
import { declareSidecarOptions, startSidecarFromFlags, type SidecarFlags, type SidecarParts } from "../sidecar-flags.js";
import { resolveBootstrap } from "../../../sidecar/bootstrap/flags.js";
import { loadSnapshotFile } from "../../../sidecar/config/snapshot-file.js";
import type { Sidecar } from "../../../sidecar/main.js";
import { defaultCacheFile } from "../../../sidecar/xds/cache-file.js";

async function readTokenFile(file: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(file, "utf8")).trim();
  } catch (err) {
    throw new Error(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (!token) throw new Error(`--token-file ${file} is empty`);
  return token;
}

export function register(program: Command): void {
  declareSidecarOptions(program.command("sidecar").description("run the mesh sidecar proxy for one service")).action(async (flags: SidecarFlags) => {
    applySidecarRuntimeFlags(); // V8 heap growth, before the data path allocates
    const log = createLogger("sidecar").child({ service: flags.service });
    const parts: SidecarParts = {};
    const up: { running?: Sidecar } = {};
    let stopping = false;
    // Handlers first: a signal while starting (e.g. waiting for the CA) closes what is already
    // up and exits instead of dying by the default action; once running it drains.
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("signal received, draining", { signal, starting: !up.running });
      // Running: the drain deregisters first (a clean end of the config stream), so the
      // membership stops after it; cancelling the stream first would read as a broken one.
      if (up.running) void up.running.drain().then(() => parts.membership?.stop()).then(() => process.exit(0));
      else {
        void parts.membership?.stop();
        void Promise.resolve(parts.sidecar?.close()).finally(() => process.exit(0));
      }
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    let started: Sidecar;
    try {
      started = await startSidecarFromFlags(
        flags,
        {
          log,
          onQuit: () => process.exit(0),
          bootstrap: resolveBootstrap(flags),
          token: async (b) => b.token ?? (b.tokenFile ? await readTokenFile(b.tokenFile) : undefined),
          cacheFile: (sidecar) => flags.configCache ?? process.env.TSMESH_CONFIG_CACHE ?? defaultCacheFile(flags.service, sidecar.ports.inbound),
        },
        parts,
      );
    } catch (err) {
      if (stopping) return;
      const e = err as Error & { code?: string };
      log.error("sidecar failed to start", { error: e.message, code: e.code });
      await parts.membership?.stop();
      await parts.sidecar?.close();
      process.exit(1);
    }
    if (stopping) return;
    up.running = started;
    collectStartupGarbage(); // see shared/sidecar-node-options.ts
    // SIGHUP re-reads --config: a hot update without a control plane (in-flight requests go on).
    if (flags.config) {
      const file = flags.config;
      process.on("SIGHUP", () => {
        try {
          started.config.set(loadSnapshotFile(file));
        } catch (err) {
          const e = err as Error & { code?: string };
          log.error("config reload rejected, keeping the current one", { error: e.message, code: e.code });
        }
      });
    }
  });
}
