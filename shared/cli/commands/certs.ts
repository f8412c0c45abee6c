// `tsmesh certs init --dir DIR`: a development trust anchor (10 y) and issuer (1 y) as PEM files
// (layout in certs/README.md). Keys are written 0600; an existing CA is never overwritten.
import type { Command } from "commander";
import { initCaDir } from "../../../control-plane/ca/files.js";
import { parseDuration } from "../../duration.js";

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
}
