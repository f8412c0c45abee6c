// Last-known-good config on disk: written after every applied snapshot (tmp file + rename, so a
// crash mid-write never leaves a torn file), read at startup before connecting so a restarted
// sidecar serves its last config while no control plane is reachable.
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs/atomic-write.js";
import type { Snapshot } from "../../shared/snapshot.js";
import { parseSnapshot } from "../config/snapshot-file.js";

export async function saveLastKnownGood(file: string, snapshot: Snapshot): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(snapshot), 0o644);
}

/** The cached snapshot, or undefined when there is none; a corrupt or invalid file is an error. */
export async function loadLastKnownGood(file: string): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseSnapshot(text);
}
