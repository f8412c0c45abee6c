// `tsmesh control-plane --etcd URLS [--etcd-ca F] [--etcd-cert F --etcd-key F]`: TLS towards an
// external etcd. The embedded etcd makes its own certificates, so the flags need --etcd; they
// need https:// URLs too, since a client that speaks TLS to an http:// URL would only confuse.
import { readFileSync } from "node:fs";
import type { EtcdClientTls } from "../../control-plane/store/index.js";

export interface EtcdTlsFlags {
  etcd?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

function readPem(flag: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new Error(`--${flag}: ${file} is not PEM`);
  return text;
}

/** The client TLS the flags ask for; undefined with none of them. Throws a one-line usage error. */
export function etcdTlsFromFlags(flags: EtcdTlsFlags, urls: string[]): EtcdClientTls | undefined {
  const { etcdCa, etcdCert, etcdKey } = flags;
  if (etcdCa === undefined && etcdCert === undefined && etcdKey === undefined) return undefined;
  if (urls.length === 0) throw new Error("--etcd-ca/--etcd-cert/--etcd-key need --etcd (the embedded etcd makes its own certificates)");
  if ((etcdCert === undefined) !== (etcdKey === undefined)) throw new Error("--etcd-cert and --etcd-key go together");
  const plain = urls.filter((u) => !u.startsWith("https://"));
  if (plain.length > 0) throw new Error(`--etcd-ca/--etcd-cert/--etcd-key need https:// etcd URLs (got ${plain.join(", ")})`);
  return {
    caPem: etcdCa === undefined ? undefined : readPem("etcd-ca", etcdCa),
    certPem: etcdCert === undefined ? undefined : readPem("etcd-cert", etcdCert),
    keyPem: etcdKey === undefined ? undefined : readPem("etcd-key", etcdKey),
  };
}
