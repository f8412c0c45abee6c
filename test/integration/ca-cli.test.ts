// `tsmesh certs init` as a user runs it (needs `npm run build`): files, modes, a valid chain, no overwrite.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadCaMaterial } from "../../control-plane/ca/files.js";

const run = promisify(execFile);
const CLI = path.resolve("dist/shared/cli/main.js");
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-certs-cli-"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

it("certs init writes anchor, issuer and bundle; keys 0600; openssl verifies the issuer; a second run changes nothing", async () => {
  const out = path.join(dir, "certs");
  const { stdout } = await run("node", [CLI, "certs", "init", "--dir", out]);
  expect(stdout).toContain("issuer.key");
  const names = (await fs.readdir(out)).sort();
  expect(names).toEqual(["bundle.crt", "ca.crt", "ca.key", "issuer.crt", "issuer.key"]);
  for (const k of ["ca.key", "issuer.key"]) expect((await fs.stat(path.join(out, k))).mode & 0o777).toBe(0o600);

  const { stdout: verified } = await run("openssl", ["verify", "-CAfile", "bundle.crt", "issuer.crt"], { cwd: out });
  expect(verified.trim()).toBe("issuer.crt: OK");
  const { stdout: dates } = await run("openssl", ["x509", "-in", "ca.crt", "-noout", "-enddate"], { cwd: out });
  const anchorEnd = new Date(dates.trim().replace("notAfter=", ""));
  expect(anchorEnd.getTime() - Date.now()).toBeGreaterThan(9.9 * 365 * 24 * 3600_000);
  const m = await loadCaMaterial(out);
  expect(m.bundle).toHaveLength(1);

  const before = await fs.readFile(path.join(out, "issuer.key"), "utf8");
  const second = run("node", [CLI, "certs", "init", "--dir", out]);
  await expect(second).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("TSMESH_ERR_CA_EXISTS") });
  expect(await fs.readFile(path.join(out, "issuer.key"), "utf8")).toBe(before);
});

it("certs init rejects a bad duration and writes nothing", async () => {
  const out = path.join(dir, "bad");
  await expect(run("node", [CLI, "certs", "init", "--dir", out, "--issuer-ttl", "1year"])).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining("invalid duration"),
  });
  await expect(fs.readdir(out)).rejects.toThrow();
});
