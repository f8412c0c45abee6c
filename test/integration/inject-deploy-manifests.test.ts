// Everything under deploy/ that is YAML must parse; Kubernetes objects must have the basic
// shape; tsmesh resources must pass the same validation as the API; the pieces must agree with
// each other (ports, names, the webhook's service) and with the injection code.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { validateResource } from "../../shared/schema/index.js";
import { ADMIN_PORT, injectYaml } from "../../shared/inject/index.js";

type Obj = Record<string, unknown>;
const ROOT = fileURLToPath(new URL("../../deploy/", import.meta.url));

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

  it("control plane: 2 replicas over all etcd members, Service with 15000, 15012 and the webhook", () => {
    const dep = find("Deployment", "tsmesh-control-plane");
    expect((dep.spec as Obj).replicas).toBe(2);
    const args = ((((dep.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!.args as string[];
    expect(args.find((a) => a.startsWith("--etcd="))!.split(",")).toHaveLength(3);
    const ports = ((find("Service", "tsmesh-control-plane").spec as Obj).ports as Obj[]).map((p) => p.port);
    expect(ports).toEqual([15000, 15012, 443]);
    expect(find("ServiceAccount", "tsmesh-control-plane")).toBeDefined();
    expect(find("ClusterRoleBinding", "tsmesh-control-plane")).toBeDefined();
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
});
