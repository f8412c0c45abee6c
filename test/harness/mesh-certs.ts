// Test PKI on disk: one trust anchor + issuer, and a workload certificate per service, written as
// <dir>/<name>.crt|.key plus <dir>/ca.crt, the files `tsmesh sidecar --cert/--key/--ca` read.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceIdentity } from "../../shared/identity.js";
import { createIssuer, createTrustAnchor, issueWorkloadCert, type CertKeyPem } from "../../shared/pki/index.js";

export interface CertFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface TestPki {
  dir: string;
  anchor: CertKeyPem;
  caFile: string;
  /** Certificate files for `service`'s SPIFFE ID, or for an explicit `spiffeId` (wrong-identity tests). */
  issue(name: string, spiffeId?: string): CertFiles;
  cleanup(): void;
}

const DAY = 24 * 3600 * 1000;

export function createTestPki(label = "mesh"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `tsmesh-${label}-pki-`));
  const anchor = createTrustAnchor({ commonName: `${label} test anchor`, validityMs: DAY });
  const issuer = createIssuer(anchor, { commonName: `${label} test issuer`, validityMs: DAY });
  const caFile = join(dir, "ca.crt");
  writeFileSync(caFile, anchor.certPem);
  return {
    dir,
    anchor,
    caFile,
    issue(name, spiffeId) {
      const wc = issueWorkloadCert(issuer, spiffeId ?? serviceIdentity(name), DAY);
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      writeFileSync(cert, wc.chainPem);
      writeFileSync(key, wc.keyPem, { mode: 0o600 });
      return { cert, key, ca: caFile };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
