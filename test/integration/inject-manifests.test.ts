// Real-world manifests through `injectYaml`: output parses, keeps every original field, leaves
// non-workload documents byte-identical, is idempotent and honours opt-out / hostNetwork.
import { readdirSync, readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { injectYaml } from "../../shared/inject/index.js";

const DIR = new URL("../fixtures/manifests/", import.meta.url);
const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();
const read = (f: string) => readFileSync(new URL(f, DIR), "utf8");

type Obj = Record<string, unknown>;
const parse = (text: string): Obj[] =>
  parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });

function templateOf(doc: Obj): Obj | undefined {
  const spec = doc.spec as Obj | undefined;
  if (doc.kind === "Pod") return doc;
  if (doc.kind === "CronJob") return ((spec?.jobTemplate as Obj).spec as Obj).template as Obj;
  return spec?.template as Obj | undefined;
}

const PROBES = { readinessProbe: "readyz", livenessProbe: "livez", startupProbe: "startupz" } as const;

/**
 * Puts back the app probes injection moved to /app-health on the admin port, after checking the
 * proxy carries each one (TSMESH_APP_PROBERS) and the timing fields were kept.
 */
function undoProbeRewrite(spec: Obj, oSpec: Obj): void {
  const proxy = [...((spec.initContainers as Obj[] | undefined) ?? []), ...(spec.containers as Obj[])].find((c) => c.name === "tsmesh-proxy");
  const env = ((proxy?.env as { name: string; value?: string }[] | undefined) ?? []).find((e) => e.name === "TSMESH_APP_PROBERS");
  const carried = env?.value ? (JSON.parse(env.value) as Obj) : {};
  for (const c of spec.containers as Obj[]) {
    const oc = (oSpec.containers as Obj[]).find((x) => x.name === c.name);
    for (const [field, kind] of Object.entries(PROBES)) {
      const probe = c[field] as Obj | undefined;
      const httpGet = probe?.httpGet as Obj | undefined;
      if (!oc || httpGet?.port !== 15020) continue;
      const path = `/app-health/${String(c.name)}/${kind}`;
      expect(httpGet).toEqual({ path, port: 15020, scheme: "HTTP" });
      expect(carried).toHaveProperty([path]);
      const { httpGet: _h, ...timing } = probe!;
      const { httpGet: _a, tcpSocket: _b, grpc: _c, ...oTiming } = oc[field] as Obj;
      expect(timing).toEqual(oTiming);
      c[field] = oc[field];
    }
  }
}

/** The injected document with everything tsmesh added taken out again. */
function withoutInjection(injected: Obj, original: Obj): Obj {
  const out = structuredClone(injected);
  const t = templateOf(out);
  const o = templateOf(original)!;
  if (!t) return out;
  const spec = t.spec as Obj;
  const oSpec = o.spec as Obj;
  undoProbeRewrite(spec, oSpec);
  const ours = new Set(["tsmesh-init", "tsmesh-proxy", "tsmesh-identity", "tsmesh-ca-bundle", "tsmesh-token"]);
  for (const key of ["initContainers", "volumes"]) {
    if (!Array.isArray(spec[key])) continue;
    spec[key] = (spec[key] as Obj[]).filter((c) => !ours.has(c.name as string));
    if (!(key in oSpec) && (spec[key] as unknown[]).length === 0) delete spec[key];
  }
  const meta = t.metadata as Obj;
  const ann = meta.annotations as Obj;
  delete ann["tsmesh.dev/injected"];
  delete ann["tsmesh.dev/version"];
  const oMeta = o.metadata as Obj | undefined;
  if (!oMeta?.annotations && Object.keys(ann).length === 0) delete meta.annotations;
  if (!oMeta && Object.keys(meta).length === 0) delete t.metadata;
  return out;
}

const initNames = (doc: Obj) => (((templateOf(doc)!.spec as Obj).initContainers as Obj[] | undefined) ?? []).map((c) => c.name);

describe("inject real-world manifests", () => {
  it("has the fixtures this test relies on", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(7);
  });

  for (const file of fixtures) {
    describe(file, () => {
      const text = read(file);
      const result = injectYaml(text);
      const before = parse(text);
      const after = parse(result.yaml);

      it("parses, keeps every original field and touches only workloads", () => {
        expect(after.length).toBe(before.length);
        before.forEach((orig, i) => {
          const status = result.workloads.find((w) => w.document === i)?.status;
          if (status === "injected") {
            expect(withoutInjection(after[i]!, orig)).toEqual(orig);
            expect(initNames(after[i]!).slice(0, 2)).toEqual(["tsmesh-init", "tsmesh-proxy"]);
          } else {
            expect(after[i]).toEqual(orig);
          }
        });
      });

      it("is idempotent byte for byte", () => {
        expect(injectYaml(result.yaml).yaml).toBe(result.yaml);
      });
    });
  }

  it("leaves non-workload documents and their formatting byte-identical", () => {
    const text = read("mixed-service-configmap-deployment.yaml");
    const out = injectYaml(text).yaml;
    const head = text.slice(0, text.indexOf("kind: Deployment"));
    expect(out.startsWith(head)).toBe(true); // ConfigMap (comments, block scalar) and Service
    expect(out.endsWith(text.slice(text.lastIndexOf("---")))).toBe(true); // the Ingress
    expect(out).toContain("      - name: inventory\n        image: registry.example.com/shop/inventory:3.2.0");
  });

  it("keeps comments inside an edited document", () => {
    const out = injectYaml(read("deployment-init-containers.yaml")).yaml;
    expect(out).toContain("# Migrations run before the app; with the sidecar first they can reach the database");
    expect(out).toContain("command: ['sh', '-c', 'until nc -z postgres 5432; do sleep 1; done']");
  });

  it("keeps the user's init containers after the proxy", () => {
    const [doc] = parse(injectYaml(read("deployment-init-containers.yaml")).yaml);
    expect(initNames(doc!)).toEqual(["tsmesh-init", "tsmesh-proxy", "wait-for-db", "migrate"]);
  });

  it("merges with existing annotations and honours opt-outs", () => {
    const r = injectYaml(read("deployments-annotations-opt-out.yaml"));
    expect(r.workloads.map((w) => [w.name, w.status])).toEqual([
      ["frontend", "injected"],
      ["legacy-batch-ui", "skipped"],
      ["vendor-agent", "skipped"],
    ]);
    const ann = (templateOf(parse(r.yaml)[0]!)!.metadata as Obj).annotations;
    expect(ann).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "3000",
      "kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z",
      "tsmesh.dev/injected": "true",
      "tsmesh.dev/version": "0.1.0",
    });
  });

  it("skips the hostNetwork DaemonSet with a warning and leaves the file as it was", () => {
    const text = read("daemonset-host-network.yaml");
    const r = injectYaml(text);
    expect(r.yaml).toBe(text);
    expect(r.workloads[0]).toMatchObject({ kind: "DaemonSet", status: "skipped" });
    expect(r.workloads[0]!.warnings.join()).toMatch(/hostNetwork/);
  });

  it("injects CronJob job templates and Jobs, with the app port falling back with a warning", () => {
    const r = injectYaml(read("cronjob.yaml"));
    expect(r.workloads.map((w) => [w.kind, w.status])).toEqual([["CronJob", "injected"], ["Job", "injected"]]);
    const [cron, job] = parse(r.yaml);
    expect(initNames(cron!)).toEqual(["tsmesh-init", "tsmesh-proxy"]);
    expect(initNames(job!)).toEqual(["tsmesh-init", "tsmesh-proxy"]);
    // Service name: app label for the CronJob, workload name for the unlabelled Job.
    const args = (doc: Obj) => ((templateOf(doc)!.spec as Obj).initContainers as Obj[])[1]!.args as string[];
    expect(args(cron!).slice(0, 3)).toEqual(["sidecar", "--service", "nightly-report"]);
    expect(args(job!).slice(0, 3)).toEqual(["sidecar", "--service", "backfill-2026-10"]);
  });

  it("picks the first declared port of a multi-container pod and passes exclusions on", () => {
    const [pod] = parse(injectYaml(read("multi-container-pod.yaml")).yaml);
    const proxy = ((pod!.spec as Obj).initContainers as Obj[])[1]!;
    expect(proxy.args).toEqual(expect.arrayContaining(["--app-port", "8080"]));
    const [sts] = parse(injectYaml(read("statefulset.yaml")).yaml);
    const init = ((templateOf(sts!)!.spec as Obj).initContainers as Obj[])[0]!;
    expect(init.env).toContainEqual({ name: "TSMESH_EXCLUDE_INBOUND_PORTS", value: "5432" });
  });

  it("applies options and leaves unknown kinds and custom resources named like workloads alone", () => {
    const text = "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}]\n";
    expect(injectYaml(text).yaml).toBe(text);
    const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a}]\n";
    const out = injectYaml(pod, { controlPlane: "cp.example:15012", image: "reg/tsmesh:dev", proxyUid: 2000 }).yaml;
    expect(out).toContain("reg/tsmesh:dev");
    expect(out).toContain("cp.example:15012");
    expect(out).toContain("runAsUser: 2000");
  });

  it("rejects broken YAML with a clear error", () => {
    expect(() => injectYaml("kind: Pod\nspec: [unclosed\n")).toThrow(/TSMESH_ERR_INJECT_YAML|document 1/);
  });
});
