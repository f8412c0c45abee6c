// `tsmesh inject` as a user runs it (built CLI: run `npm run build` first).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { injectYaml } from "../../shared/inject/index.js";

const CLI = fileURLToPath(new URL("../../dist/shared/cli/main.js", import.meta.url));
const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/manifests/${f}`, import.meta.url));
const tsmesh = (args: string[], input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { input, encoding: "utf8", timeout: 20_000 });

describe("tsmesh inject", () => {
  it("prints the injected YAML of a file, identical to the library's", () => {
    const r = tsmesh(["inject", "-f", fixture("mixed-service-configmap-deployment.yaml")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(injectYaml(readFileSync(fixture("mixed-service-configmap-deployment.yaml"), "utf8")).yaml);
    expect(r.stdout).toContain("name: tsmesh-proxy");
  });

  it("reads stdin with -f - and applies the flags", () => {
    const input = readFileSync(fixture("statefulset.yaml"), "utf8");
    const r = tsmesh(["inject", "-f", "-", "--image", "reg.local/tsmesh:dev", "--control-plane", "cp:15012", "--proxy-uid", "2001"], input);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("image: reg.local/tsmesh:dev");
    expect(r.stdout).toContain("- cp:15012");
    expect(r.stdout).toContain("runAsUser: 2001");
  });

  it("warns on stderr about skipped workloads and keeps stdout clean YAML", () => {
    const r = tsmesh(["inject", "-f", fixture("daemonset-host-network.yaml")]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/DaemonSet\/node-exporter: .*hostNetwork/);
    expect(r.stdout).toBe(readFileSync(fixture("daemonset-host-network.yaml"), "utf8"));
  });

  it("warns on stderr, once per namespace, that injected pods need the trust-bundle ConfigMap there first", () => {
    const r = tsmesh(["inject", "-f", "-"], [readFileSync(fixture("statefulset.yaml"), "utf8"), readFileSync(fixture("multi-container-pod.yaml"), "utf8"), readFileSync(fixture("cronjob.yaml"), "utf8")].join("\n---\n"));
    expect(r.status).toBe(0);
    const notes = r.stderr.split("\n").filter((l) => l.includes("ConfigMap tsmesh-ca-bundle"));
    expect(notes).toEqual([
      expect.stringMatching(/^warning: injected pods mount ConfigMap tsmesh-ca-bundle \(key bundle\.crt\): create it in namespace shop first: kubectl -n shop create configmap tsmesh-ca-bundle --from-file=bundle\.crt=/),
      expect.stringMatching(/in namespace reports first: kubectl -n reports create configmap/),
      // cronjob.yaml's second document, a Job without metadata.namespace.
      expect.stringMatching(/in the namespace these manifests are applied to first: kubectl create configmap tsmesh-ca-bundle/),
    ]);
    expect(r.stdout).not.toMatch(/warning|kubectl/);
    // Nothing meshed, nothing to warn about.
    expect(tsmesh(["inject", "-f", fixture("daemonset-host-network.yaml")]).stderr).not.toMatch(/tsmesh-ca-bundle/);
  });

  it("fails clearly on a missing file, bad YAML or bad options, printing nothing on stdout", () => {
    const missing = tsmesh(["inject", "-f", "/nonexistent/x.yaml"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT/);
    const bad = tsmesh(["inject", "-f", "-"], "kind: Pod\nspec: [unclosed\n");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/TSMESH_ERR_INJECT_YAML/);
    expect(bad.stdout).toBe("");
    const uid = tsmesh(["inject", "-f", fixture("cronjob.yaml"), "--proxy-uid", "root"]);
    expect(uid.status).toBe(1);
    expect(uid.stderr).toMatch(/TSMESH_ERR_INJECT_OPTIONS/);
    const mode = tsmesh(["inject", "-f", fixture("cronjob.yaml"), "--sidecar-mode", "sometimes"]);
    expect(mode.status).toBe(1);
    expect(mode.stderr).toMatch(/sidecar mode must be/);
  });
});
