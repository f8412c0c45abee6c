import fs from "node:fs/promises";

/**
 * Writes `text` to a temporary file beside `file`, then renames it over `file`: a crash mid-write
 * never leaves a torn file, and readers see the old or the new content, never a mix.
 */
export async function writeFileAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await fs.writeFile(tmp, text, { mode });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}
