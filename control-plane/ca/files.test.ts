import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createIssuer, createTrustAnchor } from "../../shared/pki/index.js";
import { caDirFor, initCaDir, keepPreviousIssuers, loadBundle, loadCaMaterial } from "./files.js";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-cafiles-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("CA files", () => {
  it("loads issuer and bundle.crt + bundle.d/*.crt; drops duplicates and non-CA certificates", async () => {
    await initCaDir(dir, { anchorValidityMs: 3600_000, issuerValidityMs: 3600_000 });
    const other = createTrustAnchor({ commonName: "other", validityMs: 3600_000 });
    await fs.mkdir(path.join(dir, "bundle.d"));
    await fs.writeFile(path.join(dir, "bundle.d", "other.crt"), other.certPem);
    await fs.writeFile(path.join(dir, "bundle.d", "dup.crt"), await fs.readFile(path.join(dir, "ca.crt")));
    await fs.writeFile(path.join(dir, "bundle.d", "ignored.txt"), other.certPem);
    const m = await loadCaMaterial(dir);
    expect(m.bundle).toHaveLength(2);
    expect(m.intermediates).toEqual([m.issuer.certPem]);
    expect(await loadBundle(path.join(dir, "bundle.d"))).toHaveLength(2);
  });

  it("refuses an issuer key that does not match the issuer certificate", async () => {
    await initCaDir(dir);
    const a = createTrustAnchor({ commonName: "x", validityMs: 3600_000 });
    await fs.writeFile(path.join(dir, "issuer.key"), createIssuer(a, { commonName: "y", validityMs: 3600_000 }).keyPem);
    await expect(loadCaMaterial(dir)).rejects.toThrow(/TSMESH_ERR_CA_KEY_MISMATCH/);
  });

  it("refuses an issuer that does not chain to the bundle", async () => {
    await initCaDir(dir);
    await fs.writeFile(path.join(dir, "bundle.crt"), createTrustAnchor({ commonName: "z", validityMs: 3600_000 }).certPem);
    await expect(loadCaMaterial(dir)).rejects.toThrow(/TSMESH_ERR_CA_UNTRUSTED_ISSUER/);
  });

  it("says how to create a CA when the directory has none", async () => {
    await expect(loadCaMaterial(dir)).rejects.toThrow(/tsmesh certs init/);
  });

  it("after a reload still accepts chains through the issuers accepted before, current issuer first", async () => {
    await initCaDir(dir);
    const before = await loadCaMaterial(dir);
    const anchor = { certPem: await fs.readFile(path.join(dir, "ca.crt"), "utf8"), keyPem: await fs.readFile(path.join(dir, "ca.key"), "utf8") };
    const next = createIssuer(anchor, { commonName: "next", validityMs: 3600_000 });
    await fs.writeFile(path.join(dir, "issuer.crt"), next.certPem);
    await fs.writeFile(path.join(dir, "issuer.key"), next.keyPem);
    const merged = keepPreviousIssuers(await loadCaMaterial(dir), before);
    expect(merged.intermediates).toEqual([next.certPem, before.issuer.certPem]);
    expect(keepPreviousIssuers(merged, merged).intermediates).toEqual(merged.intermediates);
  });

  it("puts the CA dir at --dir, else $TSMESH_CA_DIR, else <dataDir>/certs", () => {
    const saved = process.env.TSMESH_CA_DIR;
    try {
      delete process.env.TSMESH_CA_DIR;
      expect(caDirFor("/data")).toBe(path.resolve("/data/certs"));
      process.env.TSMESH_CA_DIR = "/env-ca";
      expect(caDirFor("/data")).toBe("/env-ca");
      expect(caDirFor("/data", "rel")).toBe(path.resolve("rel"));
    } finally {
      if (saved === undefined) delete process.env.TSMESH_CA_DIR;
      else process.env.TSMESH_CA_DIR = saved;
    }
  });
});
