// Everything under deploy/ that is YAML must parse; Kubernetes objects must have the basic
// shape; tsmesh resources must pass the same validation as the API; the pieces must agree with
// each other (ports, names, the webhook's service) and with the injection code.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { validateResource } from "../../shared/schema/index.js";
import { ADMIN_PORT, injectYaml } from "../../shared/inject/index.js";

type Obj = Record<string, unknown>;
const ROOT = fileURLToPath(new URL("../../deploy/", import.meta.url));
const CLI = fileURLToPath(new URL("../../dist/shared/cli/main.js", import.meta.url));

/** Every `tsmesh <sub...> --flags` invocation in a shell snippet: subcommand words and flag names. */
function tsmeshCalls(shell: string): Array<{ sub: string[]; flags: string[] }> {
  return shell
    .split(/[;&|\n]|\$\(|\)/)
    .map((seg) => seg.trim().split(/\s+/))
    .filter((w) => w.includes("tsmesh"))
    .map((w) => {
      const args = w.slice(w.indexOf("tsmesh") + 1);
      const firstFlag = args.findIndex((a) => a.startsWith("-"));
      return { sub: firstFlag < 0 ? args : args.slice(0, firstFlag), flags: args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]!) };
    });
}

const helpCache = new Map<string, string>();
/** The CLI's own option list for a subcommand (the built CLI: `npm run build` first). */
function optionsOf(sub: string[]): Set<string> {
  const key = sub.join(" ");
  if (!helpCache.has(key)) helpCache.set(key, execFileSync(process.execPath, [CLI, ...sub, "--help"], { encoding: "utf8" }));
  return new Set(helpCache.get(key)!.match(/--[a-z][a-z-]*/g));
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const files = yamlFiles(ROOT);
const docsOf = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(file, "utf8"), { merge: true }).map((d) => {
    expect(d.errors.map((e) => e.message), relative(ROOT, file)).toEqual([]);
    return d.toJS({ maxAliasCount: 100 }) as Obj;
  });
const k8s = files.filter((f) => f.includes("/k8s/")).flatMap(docsOf).filter((d) => d && d.apiVersion !== "tsmesh.dev/v1");
const find = (kind: string, name: string) => k8s.find((d) => d.kind === kind && (d.metadata as Obj).name === name) as Obj;

describe("deploy/ manifests", () => {
  it("finds the expected files", () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(["docker-compose.yml", "k8s/10-etcd.yaml", "k8s/20-control-plane.yaml", "k8s/30-webhook.yaml"]));
  });

  for (const file of files) {
    it(`${relative(ROOT, file)} parses`, () => {
      const docs = docsOf(file);
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) {
        if (file.endsWith("docker-compose.yml")) continue;
        expect(typeof doc.apiVersion).toBe("string");
        expect(typeof doc.kind).toBe("string");
        expect(typeof (doc.metadata as Obj)?.name).toBe("string");
        if (doc.apiVersion === "tsmesh.dev/v1") {
          const v = validateResource(doc);
          expect(v.ok ? "valid" : `${v.field}: ${v.error}`).toBe("valid");
        }
      }
    });
  }

  it("etcd: 3 members whose static cluster list matches the StatefulSet and headless Service", () => {
    const sts = find("StatefulSet", "tsmesh-etcd");
    const spec = sts.spec as Obj;
    expect(spec.replicas).toBe(3);
    expect(spec.serviceName).toBe("tsmesh-etcd");
    expect((find("Service", "tsmesh-etcd").spec as Obj).clusterIP).toBe("None");
    const env = ((((spec.template as Obj).spec as Obj).containers as Obj[])[0]!.env as Obj[]).find((e) => e.name === "PEERS")!;
    const members = String(env.value).split(",").map((m) => m.split("=")[0]);
    expect(members).toEqual(["tsmesh-etcd-0", "tsmesh-etcd-1", "tsmesh-etcd-2"]);
  });

  it("anyone who can reach etcd can mint any identity: etcd requires TLS client certificates and admits only the control plane", () => {
    const pod = (((find("StatefulSet", "tsmesh-etcd").spec as Obj).template as Obj).spec as Obj);
    const etcd = (pod.containers as Obj[])[0]!;
    const cmd = etcd.command as string[];
    for (const flag of ["--client-cert-auth", "--peer-client-cert-auth"]) expect(cmd).toContain(flag);
    for (const f of ["--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls", "--initial-advertise-peer-urls"]) expect(cmd.find((a) => a.startsWith(`${f}=`))).toMatch(/=https:\/\//);
    const peers = String(((etcd.env as Obj[]).find((e) => e.name === "PEERS")!).value);
    expect(peers.split(",").every((m) => m.split("=")[1]!.startsWith("https://"))).toBe(true);
    const mounted = (etcd.volumeMounts as Obj[]).find((m) => m.name === "tls")!;
    for (const f of ["--trusted-ca-file", "--cert-file", "--key-file", "--peer-trusted-ca-file", "--peer-cert-file", "--peer-key-file"]) {
      expect(cmd.find((a) => a.startsWith(`${f}=`))!.split("=")[1]).toMatch(new RegExp(`^${String(mounted.mountPath)}/(ca\\.crt|server\\.crt|server\\.key)$`));
    }
    expect((pod.volumes as Obj[]).find((v) => v.name === "tls")).toMatchObject({ secret: { secretName: "tsmesh-etcd-server" } });
    // Probes reach the plaintext metrics port, which serves no keys.
    expect(((etcd.readinessProbe as Obj).httpGet as Obj).port).toBe(2381);
    expect(cmd).toContain("--listen-metrics-urls=http://0.0.0.0:2381");

    const cp = ((((find("Deployment", "tsmesh-control-plane").spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!;
    const args = cp.args as string[];
    expect(args.find((a) => a.startsWith("--etcd="))!.slice("--etcd=".length).split(",").every((u) => u.startsWith("https://"))).toBe(true);
    const etcdMount = String((cp.volumeMounts as Obj[]).find((m) => m.name === "etcd-client")!.mountPath);
    expect(args).toEqual(expect.arrayContaining([`--etcd-ca=${etcdMount}/ca.crt`, `--etcd-cert=${etcdMount}/client.crt`, `--etcd-key=${etcdMount}/client.key`]));
    for (const f of ["--etcd-ca", "--etcd-cert", "--etcd-key"]) expect(optionsOf(["control-plane"]).has(f)).toBe(true);

    const np = find("NetworkPolicy", "tsmesh-etcd");
    const spec = np.spec as Obj;
    expect(spec.podSelector).toEqual({ matchLabels: { app: "tsmesh-etcd" } });
    expect(spec.policyTypes).toEqual(["Ingress"]);
    const admits = (port: number) =>
      (spec.ingress as Obj[]).filter((r) => ((r.ports as Obj[]) ?? []).some((p) => p.port === port)).map((r) => (r.from as Obj[] | undefined)?.map((f) => ((f.podSelector as Obj).matchLabels as Obj).app) ?? ["anyone"]);
    expect(admits(2379).flat().sort()).toEqual(["tsmesh-control-plane", "tsmesh-etcd"]);
    expect(admits(2380).flat()).toEqual(["tsmesh-etcd"]);
    // The control plane pods carry the label the policy admits.
    expect((((find("Deployment", "tsmesh-control-plane").spec as Obj).template as Obj).metadata as Obj).labels).toMatchObject({ app: "tsmesh-control-plane" });
  });

  it("tsmesh certs etcd (deploy/k8s/README.md) makes a server certificate valid for every etcd member and a client certificate", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmesh-certs-etcd-"));
    try {
      const out = execFileSync(process.execPath, [CLI, "certs", "etcd", "--dir", dir], { encoding: "utf8" });
      expect(out.trim().split("\n")).toHaveLength(5);
      for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
      const server = new X509Certificate(readFileSync(join(dir, "server.crt")));
      const ca = new X509Certificate(readFileSync(join(dir, "ca.crt")));
      expect(server.verify(ca.publicKey)).toBe(true);
      expect(new X509Certificate(readFileSync(join(dir, "client.crt"))).verify(ca.publicKey)).toBe(true);
      const etcd = ((((find("StatefulSet", "tsmesh-etcd").spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!;
      const peers = String(((etcd.env as Obj[]).find((e) => e.name === "PEERS")!).value).split(",").map((m) => new URL(m.split("=")[1]!).hostname);
      const cpArgs = (((((find("Deployment", "tsmesh-control-plane").spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!.args as string[]);
      const clients = cpArgs.find((a) => a.startsWith("--etcd="))!.slice("--etcd=".length).split(",").map((u) => new URL(u).hostname);
      for (const host of [...peers, ...clients]) expect(server.checkHost(host), host).toBeDefined();
      expect(server.checkHost("etcd.example.com")).toBeUndefined();
      expect(readFileSync(join(dir, "ca.crt"), "utf8")).not.toContain("PRIVATE KEY");
      // Never replaces an existing set.
      expect(() => execFileSync(process.execPath, [CLI, "certs", "etcd", "--dir", dir], { encoding: "utf8", stdio: "pipe" })).toThrow(/exists; refusing to replace it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("control plane: 2 replicas over all etcd members, Service with 15000, 15012 and the webhook", () => {
    const dep = find("Deployment", "tsmesh-control-plane");
    expect((dep.spec as Obj).replicas).toBe(2);
    const args = ((((dep.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!.args as string[];
    expect(args.find((a) => a.startsWith("--etcd="))!.split(",")).toHaveLength(3);
    const ports = ((find("Service", "tsmesh-control-plane").spec as Obj).ports as Obj[]).map((p) => p.port);
    expect(ports).toEqual([15000, 15012, 443]);
    expect(find("ServiceAccount", "tsmesh-control-plane")).toBeDefined();
    expect(find("ClusterRoleBinding", "tsmesh-control-plane")).toBeDefined();
    // Injected sidecars prove themselves with ServiceAccount tokens: TokenReview on, and allowed.
    expect(args).toContain("--kube-token-review");
    expect((find("ClusterRole", "tsmesh-control-plane").rules as Obj[])).toContainEqual({ apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] });
  });

  it("webhook configuration: opt-in namespaces, never blocks pods, points at the control plane", () => {
    const cfg = find("MutatingWebhookConfiguration", "tsmesh-sidecar-injector");
    const hook = (cfg.webhooks as Obj[])[0]!;
    expect(hook).toMatchObject({
      failurePolicy: "Ignore",
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      namespaceSelector: { matchLabels: { "tsmesh-injection": "enabled" } },
      clientConfig: { service: { name: "tsmesh-control-plane", namespace: "tsmesh-system", path: "/mutate", port: 443 } },
    });
    expect((hook.clientConfig as Obj).caBundle).toBe("${CA_BUNDLE}");
  });

  it("the mesh's own pods opt out; the demo namespace opts in and its deployments inject cleanly", () => {
    for (const name of ["tsmesh-control-plane", "jaeger"]) {
      const t = (find("Deployment", name).spec as Obj).template as Obj;
      expect(((t.metadata as Obj).annotations as Obj)["tsmesh.dev/inject"]).toBe("false");
    }
    expect(((find("Namespace", "tsmesh-demo").metadata as Obj).labels as Obj)["tsmesh-injection"]).toBe("enabled");
    const demo = injectYaml(readFileSync(join(ROOT, "k8s/50-demo.yaml"), "utf8"));
    expect(demo.workloads.map((w) => `${w.name}:${w.status}`)).toEqual([
      "frontend:injected",
      "orders-v1:injected",
      "orders-v2:injected",
      "inventory:injected",
    ]);
    expect(demo.workloads.flatMap((w) => w.warnings)).toEqual([]);
    expect(demo.yaml).toContain(`port: ${ADMIN_PORT}`);
    // Each demo pod runs as the ServiceAccount named like its service (the CA maps SA -> identity).
    for (const w of ["frontend", "orders-v1", "orders-v2", "inventory"]) {
      const spec = ((find("Deployment", w).spec as Obj).template as Obj).spec as Obj;
      expect(find("ServiceAccount", spec.serviceAccountName as string), w).toBeDefined();
    }
  });

  it("docker-compose: etcd, control plane, Jaeger with OTLP/HTTP, three demo services with sidecars", () => {
    const [compose] = docsOf(join(ROOT, "docker-compose.yml")) as [{ services: Record<string, Obj> }];
    const s = compose.services;
    expect(Object.keys(s)).toEqual(expect.arrayContaining(["etcd", "control-plane", "jaeger", "frontend", "orders", "inventory"]));
    expect((s.jaeger!.environment as Obj).COLLECTOR_OTLP_ENABLED).toBe("true");
    expect(s.jaeger!.ports).toContain("127.0.0.1:4318:4318");
    for (const svc of ["frontend", "orders", "inventory"]) {
      expect(s[`${svc}-sidecar`]!.network_mode).toBe(`service:${svc}`);
      expect(s[`${svc}-sidecar`]!.image).toBe("tsmesh/tsmesh:0.1.0"); // via YAML merge keys
      expect((s[`${svc}-sidecar`]!.command as string[])[0]).toContain(`tsmesh sidecar --service ${svc} `);
    }
  });

  it("docker-compose: sidecars get the CA bundle and their token from env (not argv); every tsmesh flag exists in the CLI", () => {
    const [compose] = docsOf(join(ROOT, "docker-compose.yml")) as [{ services: Record<string, Obj>; volumes: Obj }];
    const s = compose.services;
    const mounts = (svc: string) => ((s[svc]!.volumes as string[] | undefined) ?? []).map((v) => v.split(":"));
    const checked: string[] = [];
    for (const [name, svc] of Object.entries(s)) {
      if (svc.image !== "tsmesh/tsmesh:0.1.0") continue;
      // Entrypoint `tsmesh`: the command array is its argv; `sh -c` entrypoints: shell snippets.
      const cmd = svc.command as string[];
      const calls = svc.entrypoint ? cmd.flatMap((c) => tsmeshCalls(c)) : [{ sub: [cmd[0]!], flags: cmd.filter((a) => a.startsWith("--")) }];
      for (const { sub, flags } of calls) {
        const known = optionsOf(sub);
        for (const f of flags) expect(known.has(f), `${name}: tsmesh ${sub.join(" ")} ${f}`).toBe(true);
        checked.push(`${name}:${sub.join(" ")}`);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(["control-plane:control-plane", "tokens:token create", "frontend-sidecar:sidecar", "orders-sidecar:sidecar", "inventory-sidecar:sidecar"]));

    // The tokens one-shot writes <svc>.token + bundle.crt into the bootstrap volume, from the CA dir of the control plane's data volume.
    const cpData = mounts("control-plane").find(([v]) => v === "tsmesh-data")!;
    const tokensScript = (s.tokens!.command as string[]).join("\n");
    expect(tokensScript).toContain(`${cpData[1]}/certs/bundle.crt`);
    const bootstrapDir = mounts("tokens").find(([v]) => v === "tsmesh-bootstrap")![1]!;
    expect(Object.keys(compose.volumes)).toContain("tsmesh-bootstrap");
    for (const svc of ["frontend", "orders", "inventory"]) {
      const side = s[`${svc}-sidecar`]!;
      const script = (side.command as string[]).join("\n");
      const [call] = tsmeshCalls(script).filter((c) => c.sub[0] === "sidecar");
      expect(call!.flags).toContain("--ca-bundle");
      expect(call!.flags).not.toContain("--token");
      expect(call!.flags).not.toContain("--bootstrap-token");
      expect(script).toContain(`--ca-bundle ${bootstrapDir}/bundle.crt`);
      expect(script).toContain(`TSMESH_BOOTSTRAP_TOKEN="$$(cat ${bootstrapDir}/${svc}.token)"`);
      expect(tokensScript.match(/for svc in ([^;]*);/)![1]!.split(/\s+/)).toContain(svc);
      // Read-only bootstrap volume; no admin token and no CA data volume in a sidecar.
      expect(mounts(`${svc}-sidecar`)).toEqual([["tsmesh-bootstrap", bootstrapDir, "ro"]]);
      expect(JSON.stringify(side.environment ?? {})).not.toContain("TSMESH_TOKEN");
      expect((side.depends_on as Obj).tokens).toEqual({ condition: "service_completed_successfully" });
    }
  });
});
