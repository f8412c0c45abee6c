// The workload certificate + key on disk, next to the last-known-good config, so a sidecar that
// restarts while no control plane answers can still serve (its bootstrap token was single-use).
// Directory 0700, files 0600, each written tmp + rename. A torn pair (crash between the two
// renames), an expired leaf, a foreign identity or a chain the anchors no longer accept is simply
// not used: the caller falls back to the bootstrap token.
import { createPrivateKey } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs/atomic-write.js";
import { splitPemCerts, verifyWorkloadChain } from "../../shared/pki/index.js";
import type { IdentityState } from "./manager.js";

const CHAIN = "chain.pem";
const KEY = "key.pem";

/** `/tmp/x-config.json` -> `/tmp/x-config.identity` (a directory beside the config cache). */
export function identityCacheDir(configCacheFile: string): string {
  return `${configCacheFile.replace(/\.json$/, "")}.identity`;
}

const writePrivate = (file: string, text: string) => writeFileAtomic(file, text, 0o600);

export async function saveIdentityCache(dir: string, state: Pick<IdentityState, "keyPem" | "chainPem">): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir keeps the mode of a directory that already existed: tighten it (and refuse one we do not own).
  const st = await fs.stat(dir);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) throw new Error(`TSMESH_ERR_IDENTITY_CACHE: ${dir} belongs to another user`);
  if ((st.mode & 0o777) !== 0o700) await fs.chmod(dir, 0o700);
  // Key first: a crash before the chain's rename leaves a pair that fails the key check on load.
  await writePrivate(path.join(dir, KEY), state.keyPem);
  await writePrivate(path.join(dir, CHAIN), state.chainPem);
}

export interface CacheLoad {
  state: IdentityState | undefined;
  /** Why there is no state ("absent" when nothing was cached); "ok" otherwise. */
  reason: string;
}

/** The cached identity if present and usable now for `spiffeId` under `anchorsPem`. */
export async function loadIdentityCache(dir: string, spiffeId: string, anchorsPem: string[], now = new Date()): Promise<CacheLoad> {
  let keyPem: string;
  let chainPem: string;
  try {
    [keyPem, chainPem] = await Promise.all([fs.readFile(path.join(dir, KEY), "utf8"), fs.readFile(path.join(dir, CHAIN), "utf8")]);
  } catch (err) {
    return { state: undefined, reason: (err as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : `unreadable: ${(err as Error).message}` };
  }
  try {
    const chain = splitPemCerts(chainPem);
    const { spiffeId: got, leaf } = verifyWorkloadChain(chain, anchorsPem, now);
    if (got !== spiffeId) return { state: undefined, reason: `identity is ${got}, expected ${spiffeId}` };
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return { state: undefined, reason: "key does not match the certificate" };
    return {
      state: {
        spiffeId,
        keyPem,
        certPem: chain[0]!,
        chainPem,
        trustBundlePem: anchorsPem,
        // The CA writes serials in lower-case hex; X509Certificate prints them in upper case.
        serial: leaf.serialNumber.toLowerCase(),
        notAfter: new Date(leaf.validTo),
      },
      reason: "ok",
    };
  } catch (err) {
    return { state: undefined, reason: (err as Error).message };
  }
}
