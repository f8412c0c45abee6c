// The CA's on-disk layout (written by `tsmesh certs init`, read by every control-plane replica).
// Every replica loads the issuer key from this directory; it is never written to etcd.
import { X509Certificate, createPublicKey } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { createIssuer, createTrustAnchor, normalizeBundle, readTrustBundle, type CertKeyPem } from "../../shared/pki/index.js";

export const CA_FILES = {
  anchorCert: "ca.crt",
  anchorKey: "ca.key",
  issuerCert: "issuer.crt",
  issuerKey: "issuer.key",
  /** Every trust anchor currently accepted (PEM, concatenated). */
  bundle: "bundle.crt",
  /** Optional directory of extra anchors (*.crt), e.g. the next anchor during a rotation. */
  bundleDir: "bundle.d",
  /** Optional directory of previous issuer certificates (no keys): certificates they signed can still renew. */
  previousIssuersDir: "issuers.d",
} as const;

const YEAR_MS = 365 * 24 * 3600_000;
export const ANCHOR_VALIDITY_MS = 10 * YEAR_MS;
export const ISSUER_VALIDITY_MS = YEAR_MS;

export interface InitOptions {
  anchorValidityMs?: number;
  issuerValidityMs?: number;
  trustDomain?: string;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates anchor + issuer in `dir`. Refuses (and writes nothing) when any of the files exists, so
 * a second run never replaces a CA that certificates were issued from.
 */
export async function initCaDir(dir: string, opts: InitOptions = {}): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const names = [CA_FILES.anchorCert, CA_FILES.anchorKey, CA_FILES.issuerCert, CA_FILES.issuerKey, CA_FILES.bundle];
  const present = [];
  for (const n of names) if (await exists(path.join(dir, n))) present.push(n);
  if (present.length > 0) {
    throw new Error(`TSMESH_ERR_CA_EXISTS: ${dir} already holds ${present.join(", ")}; remove them first to create a new CA`);
  }
  const td = opts.trustDomain ?? "cluster.local";
  const anchor = createTrustAnchor({ commonName: `tsmesh trust anchor (${td})`, validityMs: opts.anchorValidityMs ?? ANCHOR_VALIDITY_MS });
  const issuer = createIssuer(anchor, { commonName: `tsmesh issuer (${td})`, validityMs: opts.issuerValidityMs ?? ISSUER_VALIDITY_MS });
  // Keys first, created exclusively with 0600, so a racing writer cannot leave a readable key.
  await fs.writeFile(path.join(dir, CA_FILES.anchorKey), anchor.keyPem, { mode: 0o600, flag: "wx" });
  await fs.writeFile(path.join(dir, CA_FILES.issuerKey), issuer.keyPem, { mode: 0o600, flag: "wx" });
  await fs.writeFile(path.join(dir, CA_FILES.anchorCert), anchor.certPem, { mode: 0o644, flag: "wx" });
  await fs.writeFile(path.join(dir, CA_FILES.issuerCert), issuer.certPem, { mode: 0o644, flag: "wx" });
  await fs.writeFile(path.join(dir, CA_FILES.bundle), anchor.certPem, { mode: 0o644, flag: "wx" });
  return names.map((n) => path.join(dir, n));
}

/** The CA directory of a control plane: `dir`, else $TSMESH_CA_DIR, else <dataDir>/certs (the CA and push plugins agree on it). */
export function caDirFor(dataDir: string, dir?: string): string {
  return path.resolve(dir ?? (process.env.TSMESH_CA_DIR || undefined) ?? path.join(dataDir, "certs"));
}

/** Reads anchors from a PEM file or from every *.crt in a directory; drops expired and duplicates. */
export const loadBundle = readTrustBundle;

export interface CaMaterial {
  issuer: CertKeyPem;
  /** Trust anchors, PEM each. */
  bundle: string[];
  /** Issuer certificates accepted in a renewing client's chain: the current one, then previous ones. */
  intermediates?: string[];
}

/**
 * Loads issuer + bundle from a `certs init` directory. The bundle is bundle.crt plus bundle.d/*.crt
 * (or ca.crt when neither exists). Checks the issuer key matches its cert and the issuer chains
 * to an anchor in the bundle, so a misconfiguration fails at start, not at the first CSR.
 */
export async function loadCaMaterial(dir: string, bundlePath?: string): Promise<CaMaterial> {
  const read = (n: string) => fs.readFile(path.join(dir, n), "utf8");
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([read(CA_FILES.issuerCert), read(CA_FILES.issuerKey)]);
  } catch (err) {
    throw new Error(`TSMESH_ERR_CA_MISSING: cannot read ${CA_FILES.issuerCert}/${CA_FILES.issuerKey} in ${dir} (run \`tsmesh certs init --dir ${dir}\`): ${(err as Error).message}`);
  }
  const issuerCert = new X509Certificate(certPem);
  const pub = createPublicKey(keyPem).export({ type: "spki", format: "der" });
  if (!issuerCert.publicKey.export({ type: "spki", format: "der" }).equals(pub)) {
    throw new Error(`TSMESH_ERR_CA_KEY_MISMATCH: ${CA_FILES.issuerKey} does not belong to ${CA_FILES.issuerCert} in ${dir}`);
  }
  const bundle: string[] = [];
  const sources = bundlePath ? [bundlePath] : [path.join(dir, CA_FILES.bundle), path.join(dir, CA_FILES.bundleDir)];
  for (const s of sources) if (await exists(s)) bundle.push(...(await loadBundle(s)));
  if (!bundlePath && bundle.length === 0 && (await exists(path.join(dir, CA_FILES.anchorCert)))) bundle.push(...(await loadBundle(path.join(dir, CA_FILES.anchorCert))));
  const anchors = normalizeBundle(bundle);
  if (!anchors.some((a) => { const c = new X509Certificate(a); return issuerCert.checkIssued(c) && issuerCert.verify(c.publicKey); })) {
    throw new Error(`TSMESH_ERR_CA_UNTRUSTED_ISSUER: ${CA_FILES.issuerCert} does not chain to any anchor in the trust bundle`);
  }
  const previousDir = path.join(dir, CA_FILES.previousIssuersDir);
  const previous = (await exists(previousDir)) ? await loadBundle(previousDir) : [];
  return { issuer: { certPem, keyPem }, bundle: anchors, intermediates: [certPem, ...previous.filter((p) => p !== certPem)] };
}

/**
 * Reloaded material that still accepts chains through the issuers `prev` accepted, so a sidecar
 * holding a certificate from an issuer just replaced can renew until a restart (issuers.d/ keeps
 * them across restarts).
 */
export function keepPreviousIssuers(next: CaMaterial, prev: CaMaterial | undefined): CaMaterial {
  const cur = next.intermediates ?? [next.issuer.certPem];
  const old = prev?.intermediates ?? [];
  return { ...next, intermediates: [...cur, ...old.filter((p) => !cur.includes(p))] };
}
