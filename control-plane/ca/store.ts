// The CA's etcd state: one-time bootstrap tokens (written by the API) and issued-cert records.
// A token is consumed in the same transaction that records the certificate it paid for, so a
// token can never buy two certificates, even with two replicas racing.
import type { Etcd3 } from "etcd3";
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import { dnsName } from "../../shared/schema/common.js";
import { certRecordKey, tokenKey } from "../store/keys.js";
import { sha256Hex } from "../store/tokens.js";
import { CaError } from "./errors.js";

export interface TokenClaim {
  service: string;
  namespace: string;
  key: string;
  modRevision: string;
}

export interface CertRecord {
  serial: string;
  spiffeId: string;
  notAfter: string;
  issuedAt: string;
  /** "token" for a first certificate, "renewal" for one paid for with a valid certificate,
   * "kubernetes" for one paid for with a ServiceAccount token (TokenReview). */
  via: "token" | "renewal" | "kubernetes";
}

function unavailable(err: unknown): CaError {
  return new CaError("TSMESH_ERR_STORE_UNAVAILABLE", `etcd: ${(err as Error).message}`);
}

/** Looks a token up without consuming it. Refuses unknown, malformed and expired tokens. */
export async function readToken(etcd: Etcd3, token: string, now = Date.now()): Promise<TokenClaim> {
  if (token.length > 512) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token is unknown, already used or expired");
  const key = tokenKey(sha256Hex(token));
  let res;
  try {
    res = await etcd.get(key).exec();
  } catch (err) {
    throw unavailable(err);
  }
  const kv = res.kvs[0];
  // One message for unknown and used: do not tell a guesser which tokens once existed.
  if (!kv) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token is unknown, already used or expired");
  let stored: { service?: unknown; namespace?: unknown; expiresAt?: unknown };
  try {
    stored = JSON.parse(kv.value.toString()) as typeof stored;
  } catch {
    throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token record is malformed");
  }
  const expiresAt = typeof stored.expiresAt === "number" ? stored.expiresAt : Date.parse(String(stored.expiresAt));
  if (!Number.isFinite(expiresAt) || expiresAt <= now) {
    throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token is unknown, already used or expired");
  }
  const service = String(stored.service ?? "");
  const namespace = stored.namespace === undefined ? DEFAULT_NAMESPACE : String(stored.namespace);
  // The API validated both with the same schema rule when it wrote the record.
  if (!dnsName.safeParse(service).success || !dnsName.safeParse(namespace).success) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "bootstrap token record is malformed");
  return { service, namespace, key, modRevision: kv.mod_revision };
}

function leaseSeconds(notAfter: Date): number {
  return Math.max(1, Math.ceil((notAfter.getTime() - Date.now()) / 1000) + 1);
}

/**
 * Records an issued certificate under a lease that ends with it; with `claim`, atomically deletes
 * the token (only if unchanged since read). Returns false when the token was consumed meanwhile.
 */
export async function recordIssued(etcd: Etcd3, rec: CertRecord, notAfter: Date, claim?: TokenClaim): Promise<boolean> {
  const lease = etcd.lease(leaseSeconds(notAfter), { autoKeepAlive: false });
  lease.on("lost", () => {});
  try {
    const leaseId = await lease.grant();
    const put = etcd.put(certRecordKey(rec.serial)).value(JSON.stringify(rec)).lease(leaseId);
    if (!claim) {
      await put.exec();
      return true;
    }
    const txn = await etcd.if(claim.key, "Mod", "==", claim.modRevision).then(etcd.delete().key(claim.key), put).commit();
    if (!txn.succeeded) await lease.revoke().catch(() => {});
    return txn.succeeded;
  } catch (err) {
    await lease.revoke().catch(() => {});
    throw unavailable(err);
  } finally {
    lease.release();
  }
}

export async function getCertRecord(etcd: Etcd3, serial: string): Promise<CertRecord | undefined> {
  const v = await etcd.get(certRecordKey(serial)).string();
  return v === null ? undefined : (JSON.parse(v) as CertRecord);
}
