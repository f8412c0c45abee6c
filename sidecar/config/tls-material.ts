// TLS material of this sidecar as a swappable value: certificate rotation (sidecar/identity) or a
// new trust bundle (config push) builds a new SecureContext; new connections use it, open ones
// keep theirs. Private keys never leave this module except into the SecureContext.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { spiffeIdOf } from "../../shared/pki/spiffe.js";
import { splitPemCerts } from "../../shared/pki/bundle.js";

/** Same shape as sidecar/identity's IdentityState, so its "rotate" events can be passed as is. */
export interface TlsMaterial {
  spiffeId: string;
  keyPem: string;
  /** Leaf + issuer(s): presented to peers. */
  chainPem: string;
  /** Anchors peers must chain to. */
  trustBundlePem: string[];
}

export interface TlsState {
  readonly material: TlsMaterial;
  /** Own identity, from the leaf certificate. */
  readonly spiffeId: string;
  /** Cert chain + key + trust anchors; serves both as server and as client context. */
  readonly secureContext: tls.SecureContext;
  /** The options secureContext was built from (tls.Server#setSecureContext takes options). */
  readonly options: tls.SecureContextOptions;
  readonly notAfter: Date;
}

export class TlsMaterialError extends Error {
  readonly code = "TSMESH_ERR_TLS_MATERIAL";
}

/** Builds the contexts; throws TlsMaterialError on a key/cert mismatch or bad PEM. */
export function buildTlsState(material: TlsMaterial, extraAnchors: readonly string[] = []): TlsState {
  const anchors = [...new Set([...material.trustBundlePem, ...extraAnchors].flatMap((p) => splitPemCerts(p)))];
  if (anchors.length === 0) throw new TlsMaterialError("no trust anchors: pass --ca or a trust bundle");
  let leaf: X509Certificate;
  let secureContext: tls.SecureContext;
  const options: tls.SecureContextOptions = { cert: material.chainPem, key: material.keyPem, ca: anchors, minVersion: "TLSv1.2" };
  try {
    leaf = new X509Certificate(material.chainPem);
    secureContext = tls.createSecureContext(options);
  } catch (err) {
    throw new TlsMaterialError(`invalid certificate or key: ${(err as Error).message}`);
  }
  const spiffeId = spiffeIdOf(leaf);
  if (!spiffeId) throw new TlsMaterialError("certificate has no single SPIFFE URI SAN");
  return { material, spiffeId, secureContext, options, notAfter: new Date(leaf.validTo) };
}

/** Static `--cert/--key/--ca` files. */
export function loadTlsFiles(certFile: string, keyFile: string, caFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch (err) {
      throw new TlsMaterialError(`cannot read ${what} ${f}: ${(err as Error).message}`);
    }
  };
  const chainPem = read(certFile, "--cert");
  const keyPem = read(keyFile, "--key");
  const caPem = read(caFile, "--ca");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
  } catch (err) {
    throw new TlsMaterialError(`--cert ${certFile}: ${(err as Error).message}`);
  }
  const spiffeId = spiffeIdOf(leaf);
  if (!spiffeId) throw new TlsMaterialError(`--cert ${certFile} has no single SPIFFE URI SAN`);
  return { spiffeId, keyPem, chainPem, trustBundlePem: [caPem] };
}

/** Public metadata for /config_dump: never the key. */
export function certMetadata(state: TlsState | undefined): Record<string, unknown> | null {
  if (!state) return null;
  const chain = splitPemCerts(state.material.chainPem).map((pem) => {
    const c = new X509Certificate(pem);
    return { subject: c.subject, issuer: c.issuer, serial: c.serialNumber, notBefore: c.validFrom, notAfter: c.validTo, subjectAltName: c.subjectAltName ?? null, fingerprint256: c.fingerprint256 };
  });
  const anchors = state.material.trustBundlePem.flatMap((p) => splitPemCerts(p)).map((pem) => {
    const c = new X509Certificate(pem);
    return { subject: c.subject, notAfter: c.validTo, fingerprint256: c.fingerprint256 };
  });
  return { spiffeId: state.spiffeId, notAfter: state.notAfter.toISOString(), chain, trustBundle: anchors };
}
