// Reads trust anchors from disk: a PEM file, or every *.crt in a directory.
import fs from "node:fs/promises";
import path from "node:path";
import { normalizeBundle, splitPemCerts } from "./bundle.js";

/** Anchors from a PEM file or a directory of *.crt files; expired, non-CA and duplicates dropped. */
export async function readTrustBundle(p: string): Promise<string[]> {
  const st = await fs.stat(p);
  let pems: string[] = [];
  if (st.isDirectory()) {
    const files = (await fs.readdir(p)).filter((f) => f.endsWith(".crt")).sort();
    for (const f of files) pems.push(...splitPemCerts(await fs.readFile(path.join(p, f), "utf8")));
  } else {
    pems = splitPemCerts(await fs.readFile(p, "utf8"));
  }
  return normalizeBundle(pems);
}
