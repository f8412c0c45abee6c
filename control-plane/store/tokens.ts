// One-time bootstrap tokens (contract shared with the CA): the plaintext goes to the caller once;
// etcd holds only /tsmesh/v1/tokens/<sha256 hex> -> {"service","namespace","expiresAt"} under a
// lease of the token's TTL, so an unused token vanishes by itself. The CA deletes the key in the
// same transaction that accepts the token.
import { createHash, randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { tokenKey } from "./keys.js";

export interface BootstrapToken {
  token: string;
  service: string;
  namespace: string;
  expiresAt: string;
}

export interface StoredToken {
  service: string;
  namespace: string;
  expiresAt: string;
}

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

export async function createBootstrapToken(
  etcd: Etcd3,
  opts: { service: string; namespace?: string; ttlMs: number },
): Promise<BootstrapToken> {
  const token = randomBytes(32).toString("base64url");
  const ttlSeconds = Math.max(1, Math.ceil(opts.ttlMs / 1000));
  const stored: StoredToken = {
    service: opts.service,
    namespace: opts.namespace ?? "default",
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
  };
  const lease = etcd.lease(ttlSeconds, { autoKeepAlive: false });
  lease.on("lost", () => {});
  await lease.put(tokenKey(sha256Hex(token))).value(JSON.stringify(stored)).exec();
  lease.release(); // no keepalive: the lease runs out with the token
  return { token, ...stored };
}
