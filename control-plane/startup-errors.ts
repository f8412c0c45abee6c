// Startup failures a person can fix (a port taken, a data dir held by another control plane):
// a stable code and one line that names the flag to change, for the CLI to print without a stack.
import fs from "node:fs";
import path from "node:path";

export class StartupError extends Error {
  constructor(
    readonly code: "TSMESH_ERR_PORT_IN_USE" | "TSMESH_ERR_DATA_DIR_LOCKED",
    message: string,
  ) {
    super(message);
  }
}

/** Rethrows a bind failure; EADDRINUSE (net or grpc-js, which wraps it in its message) as a StartupError. */
export function bindError(err: unknown, port: number, flag: string): never {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EADDRINUSE" || /EADDRINUSE/.test(String(e?.message))) {
    throw new StartupError("TSMESH_ERR_PORT_IN_USE", `port ${port} is in use: pass ${flag}, or stop what listens there`);
  }
  throw err;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes <dataDir>/control-plane.lock (holding this pid) so a second control plane on the same
 * data dir fails at once instead of waiting on etcd's own lock. A lock whose pid is dead (a
 * control plane that was SIGKILLed) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "control-plane.lock");
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      const holder = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new StartupError("TSMESH_ERR_DATA_DIR_LOCKED", `data dir ${dataDir} is in use by another control plane (pid ${holder}): pass --data-dir with another directory, or stop that one`);
      }
      fs.rmSync(file, { force: true }); // stale: its holder is gone
    }
  }
  return () => {
    try {
      if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone (the data dir was removed)
    }
  };
}
