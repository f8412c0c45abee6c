// `tsmesh certs init --dir DIR`: a development trust anchor (10 y) and issuer (1 y) as PEM files
// (layout in certs/README.md). Keys are written 0600; an existing CA is never overwritten.
// `tsmesh certs etcd --dir DIR [--hosts A,B]`: TLS for an external etcd cluster (its own CA, a
// server/peer certificate for the hosts, the control plane's client certificate).
import fs from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { ETCD_CERT_FILES, writeEtcdCertFiles } from "../../../control-plane/store/index.js";
import { initCaDir } from "../../../control-plane/ca/files.js";
import { parseDuration } from "../../duration.js";

/** The etcd StatefulSet and Services of deploy/k8s (members by the headless Service's wildcard). */
const K8S_ETCD_HOSTS = "*.tsmesh-etcd.tsmesh-system.svc,tsmesh-etcd-client.tsmesh-system.svc,localhost,127.0.0.1";

interface InitFlags {
  dir: string;
  trustDomain: string;
  anchorTtl?: string;
  issuerTtl?: string;
}

export function register(program: Command): void {
  const certs = program.command("certs").description("manage the mesh certificate authority");
  certs
    .command("init")
    .description("create a trust anchor (10 y) and an issuer (1 y) for the control plane")
    .requiredOption("--dir <dir>", "output directory, e.g. certs/")
    .option("--trust-domain <domain>", "SPIFFE trust domain (names the CA certificates)", "cluster.local")
    .option("--anchor-ttl <duration>", "trust anchor lifetime, e.g. 87600h (default 10 y)")
    .option("--issuer-ttl <duration>", "issuer lifetime, e.g. 8760h (default 1 y)")
    .action(async (flags: InitFlags) => {
      try {
        const files = await initCaDir(flags.dir, {
          trustDomain: flags.trustDomain,
          anchorValidityMs: flags.anchorTtl ? parseDuration(flags.anchorTtl) : undefined,
          issuerValidityMs: flags.issuerTtl ? parseDuration(flags.issuerTtl) : undefined,
        });
        for (const f of files) process.stdout.write(`wrote ${f}\n`);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  certs
    .command("etcd")
    .description("create TLS material for an external etcd that requires client certificates (ca.crt, server.crt/key, client.crt/key)")
    .requiredOption("--dir <dir>", "output directory (must not hold a ca.crt yet)")
    .option("--hosts <names>", "comma-separated DNS names and IPs of the etcd members (server certificate SANs)", K8S_ETCD_HOSTS)
    .action(async (flags: { dir: string; hosts: string }) => {
      try {
        const hosts = flags.hosts.split(",").map((h) => h.trim()).filter(Boolean);
        if (hosts.length === 0) throw new Error("--hosts names no host");
        await fs.mkdir(flags.dir, { recursive: true, mode: 0o700 });
        const existing = path.join(flags.dir, ETCD_CERT_FILES.ca);
        if (await fs.access(existing).then(() => true, () => false)) throw new Error(`${existing} exists; refusing to replace it (use another --dir)`);
        for (const f of await writeEtcdCertFiles(flags.dir, hosts)) process.stdout.write(`wrote ${f}\n`);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
