// TLS material of the embedded etcd, kept in <data-dir>/etcd-tls (directory 0700, files 0600):
// a CA made for this etcd alone, etcd's serving certificate (also its peer certificate) and the
// client certificate the control plane presents. etcd requires a client certificate signed by
// that CA, so a process that can reach the port but cannot read the data dir is refused.
// The CA key is not kept: when a file is missing, unreadable or near expiry, the whole set is
// made anew at start, which is safe because this control plane is the embedded etcd's only client.
import { X509Certificate } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs/atomic-write.js";
import { createTrustAnchor, issueTlsCert } from "../../shared/pki/index.js";

/** What a client presents to etcd: CA to verify etcd, and its own certificate and key (PEM). */
export interface EtcdClientTls {
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  /** Name etcd's certificate is checked against (and sent as SNI) instead of the URL's host. */
  serverName?: string;
}

/** Files for etcd's own flags (--trusted-ca-file, --cert-file, --key-file) and the client's PEMs. */
export interface EtcdCertSet {
  caFile: string;
  certFile: string;
  keyFile: string;
  client: EtcdClientTls;
}

/** One layout for the embedded etcd and `tsmesh certs etcd` (an external cluster's Secrets). */
export const ETCD_CERT_FILES = { ca: "ca.crt", cert: "server.crt", key: "server.key", clientCert: "client.crt", clientKey: "client.key" } as const;
const FILES = ETCD_CERT_FILES;
const VALIDITY_MS = 10 * 365 * 86_400_000;
/** A set with less than this left is replaced at start. */
const RENEW_BEFORE_MS = 30 * 86_400_000;
/** etcd listens on loopback only; these are the names a client dials. */
const SERVER_HOSTS = ["localhost", "127.0.0.1", "::1"];

async function readSet(dir: string): Promise<Record<keyof typeof FILES, string> | undefined> {
  try {
    const entries = await Promise.all(Object.entries(FILES).map(async ([k, f]) => [k, await fs.readFile(path.join(dir, f), "utf8")] as const));
    return Object.fromEntries(entries) as Record<keyof typeof FILES, string>;
  } catch {
    return undefined;
  }
}

function usable(set: Record<keyof typeof FILES, string>): boolean {
  try {
    const ca = new X509Certificate(set.ca);
    const until = Date.now() + RENEW_BEFORE_MS;
    return [set.cert, set.clientCert].every((pem) => {
      const leaf = new X509Certificate(pem);
      return leaf.verify(ca.publicKey) && Date.parse(leaf.validTo) > until;
    });
  } catch {
    return false;
  }
}

/**
 * Writes a new set into `dir` (files 0600): a CA, a server certificate for `hosts` that is also
 * good as a peer certificate (serverAuth + clientAuth), and the control plane's client certificate.
 */
export async function writeEtcdCertFiles(dir: string, hosts: string[] = SERVER_HOSTS, validityMs = VALIDITY_MS): Promise<string[]> {
  const ca = createTrustAnchor({ commonName: "tsmesh etcd CA", validityMs });
  const server = issueTlsCert(ca, { commonName: hosts[0] ?? "tsmesh etcd", hosts, serverAuth: true, clientAuth: true, validityMs });
  const client = issueTlsCert(ca, { commonName: "tsmesh control plane", clientAuth: true, validityMs });
  const write = (name: string, text: string) => writeFileAtomic(path.join(dir, name), text, 0o600);
  // CA last: until it is written the set is incomplete and would be made again.
  await write(FILES.cert, server.certPem);
  await write(FILES.key, server.keyPem);
  await write(FILES.clientCert, client.certPem);
  await write(FILES.clientKey, client.keyPem);
  await write(FILES.ca, ca.certPem);
  return Object.values(FILES).map((f) => path.join(dir, f));
}

/** Loads the embedded etcd's TLS material from `dir`, creating it when absent or expiring. */
export async function ensureEtcdCerts(dir: string): Promise<EtcdCertSet> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  let set = await readSet(dir);
  if (!set || !usable(set)) {
    await writeEtcdCertFiles(dir);
    set = (await readSet(dir))!;
  }
  // Copied or restored files may have lost their mode: keys are for this user only.
  await Promise.all(Object.values(FILES).map((f) => fs.chmod(path.join(dir, f), 0o600)));
  return {
    caFile: path.join(dir, FILES.ca),
    certFile: path.join(dir, FILES.cert),
    keyFile: path.join(dir, FILES.key),
    // A DNS name, not the 127.0.0.1 of the URL: TLS has no SNI for IP addresses.
    client: { caPem: set.ca, certPem: set.clientCert, keyPem: set.clientKey, serverName: "localhost" },
  };
}
