import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ANNOTATION_INJECTED, ANNOTATION_VERSION, TSMESH_VERSION } from "./constants.js";
import { InjectError, resolveOptions } from "./options.js";
import { injectPodTemplate } from "./pod.js";

const opts = resolveOptions();
type C = { name: string; restartPolicy?: string; args?: string[]; env?: { name: string; value?: string }[] };

function template(extra: Record<string, unknown> = {}, meta: Record<string, unknown> = { labels: { app: "orders" } }) {
  return {
    metadata: meta,
    spec: { containers: [{ name: "app", image: "orders:1", ports: [{ containerPort: 9000 }] }], ...extra },
  };
}

function injected(t: Record<string, unknown>, ctx = {}) {
  const out = injectPodTemplate(t, ctx, opts);
  if (out.status !== "injected") throw new Error(`not injected: ${out.reason}`);
  return out;
}

describe("injectPodTemplate", () => {
  it("puts tsmesh-init, then the native-sidecar proxy, then the user's init containers", () => {
    const t = template({ initContainers: [{ name: "migrate", image: "m" }] });
    const { template: out } = injected(t);
    const init = (out.spec as { initContainers: C[] }).initContainers;
    expect(init.map((c) => c.name)).toEqual(["tsmesh-init", "tsmesh-proxy", "migrate"]);
    expect(init[1]!.restartPolicy).toBe("Always");
    expect(init[1]!.args).toEqual(expect.arrayContaining(["--service", "orders", "--app-port", "9000"]));
    expect((out.metadata as { annotations: Record<string, string> }).annotations).toEqual({
      [ANNOTATION_INJECTED]: "true",
      [ANNOTATION_VERSION]: TSMESH_VERSION,
    });
    expect(t.spec).not.toHaveProperty("volumes"); // input untouched
  });

  it("gives the proxy the CA bundle ConfigMap (--ca-bundle) and a projected tsmesh-audience token as its first proof", () => {
    const { template: out, warnings } = injected(template({ serviceAccountName: "orders" }));
    const spec = out.spec as { initContainers: (C & { volumeMounts: unknown[] })[]; volumes: unknown[] };
    const proxy = spec.initContainers[1]!;
    expect(proxy.args!.slice(proxy.args!.indexOf("--ca-bundle"), proxy.args!.indexOf("--ca-bundle") + 2)).toEqual(["--ca-bundle", "/var/run/tsmesh-ca/bundle.crt"]);
    expect(proxy.env).toEqual(expect.arrayContaining([
      { name: "TSMESH_BOOTSTRAP_TOKEN_FILE", value: "/var/run/secrets/tsmesh/token" },
      { name: "TSMESH_CONFIG_CACHE", value: "/var/run/tsmesh/config.json" },
    ]));
    expect(proxy.volumeMounts).toEqual(expect.arrayContaining([
      { name: "tsmesh-ca-bundle", mountPath: "/var/run/tsmesh-ca", readOnly: true },
      { name: "tsmesh-token", mountPath: "/var/run/secrets/tsmesh", readOnly: true },
    ]));
    expect(spec.volumes).toEqual(expect.arrayContaining([
      { name: "tsmesh-ca-bundle", configMap: { name: "tsmesh-ca-bundle", items: [{ key: "bundle.crt", path: "bundle.crt" }] } },
      { name: "tsmesh-token", projected: { sources: [{ serviceAccountToken: { audience: "tsmesh", expirationSeconds: 3600, path: "token" } }] } },
    ]));
    expect(warnings).toEqual([]);
    // The CA issues the ServiceAccount's identity: a different (or default) one is flagged.
    expect(injected(template()).warnings.join()).toMatch(/serviceAccountName is "default" but the service is "orders"/);
  });

  it("is idempotent and replaces an older injection instead of stacking", () => {
    const once = injected(template()).template;
    expect(injected(once).template).toEqual(once);
    const other = injectPodTemplate(once, {}, resolveOptions({ image: "tsmesh/tsmesh:9.9.9" }), );
    const names = ((other as { template: { spec: { initContainers: C[] } } }).template.spec.initContainers).map((c) => c.name);
    expect(names).toEqual(["tsmesh-init", "tsmesh-proxy"]);
  });

  it("honours opt-out on the template or on the owning workload", () => {
    const off = { labels: { app: "x" }, annotations: { "tsmesh.dev/inject": "false" } };
    expect(injectPodTemplate(template({}, off), {}, opts).status).toBe("skipped");
    const owner = { metadata: { annotations: { "tsmesh.dev/inject": "False" } } };
    expect(injectPodTemplate(template(), { owner }, opts).status).toBe("skipped");
    expect(injectPodTemplate(template({}, { annotations: { "tsmesh.dev/inject": "true" } }), {}, opts).status).toBe("injected");
  });

  it("skips hostNetwork pods with a warning", () => {
    const out = injectPodTemplate(template({ hostNetwork: true }), {}, opts);
    expect(out.status).toBe("skipped");
    expect(out.warnings.join()).toMatch(/hostNetwork/);
  });

  it("derives the service name from app label, then app.kubernetes.io/name, then workload name", () => {
    const svc = (t: Record<string, unknown>, ctx = {}) =>
      ((injected(t, ctx).template.spec as { initContainers: C[] }).initContainers[1]!.env!.find((e) => e.name === "TSMESH_SERVICE"))!.value;
    expect(svc(template())).toBe("orders");
    expect(svc(template({}, { labels: { "app.kubernetes.io/name": "Inventory_DB" } }))).toBe("inventory-db");
    expect(svc(template({}, {}), { workloadName: "web" })).toBe("web");
  });

  it("takes the app port from the annotation, else the first declared port, else warns", () => {
    const port = (t: Record<string, unknown>) => {
      const out = injected(t);
      const args = (out.template.spec as { initContainers: C[] }).initContainers[1]!.args!;
      return { port: args[args.indexOf("--app-port") + 1], warnings: out.warnings };
    };
    expect(port(template({}, { annotations: { "tsmesh.dev/app-port": "7070" } })).port).toBe("7070");
    const none = port({ spec: { containers: [{ name: "a", image: "a" }] } });
    expect(none.port).toBe("8080");
    expect(none.warnings.join()).toMatch(/no container declares a port/);
  });

  it("passes valid exclusion annotations to the init container and warns on invalid ones", () => {
    const meta = { annotations: { "tsmesh.dev/exclude-inbound-ports": "5432, 9090", "tsmesh.dev/exclude-outbound-cidrs": "nope" } };
    const out = injected(template({}, meta));
    const env = (out.template.spec as { initContainers: C[] }).initContainers[0]!.env!;
    expect(env).toContainEqual({ name: "TSMESH_EXCLUDE_INBOUND_PORTS", value: "5432,9090" });
    expect(env.some((e) => e.name === "TSMESH_EXCLUDE_OUTBOUND_CIDRS")).toBe(false);
    expect(out.warnings.join()).toMatch(/exclude-outbound-cidrs/);
  });
});

describe("container sidecar mode (clusters without native sidecars)", () => {
  const legacy = resolveOptions({ sidecarMode: "container" });
  type Spec = { containers: (C & { lifecycle?: unknown; startupProbe?: unknown })[]; initContainers: C[] };

  it("puts the proxy first among the containers, gated by a postStart readiness wait", () => {
    const out = injectPodTemplate(template({ initContainers: [{ name: "migrate", image: "m" }] }), {}, legacy);
    const spec = (out as { template: { spec: Spec } }).template.spec;
    expect(spec.containers.map((c) => c.name)).toEqual(["tsmesh-proxy", "app"]);
    expect(spec.initContainers.map((c) => c.name)).toEqual(["tsmesh-init", "migrate"]);
    const proxy = spec.containers[0]!;
    expect(proxy.restartPolicy).toBeUndefined();
    expect(proxy.startupProbe).toBeUndefined();
    expect(JSON.stringify(proxy.lifecycle)).toContain("127.0.0.1:15020/ready");
  });

  it("switches modes without leaving a second proxy behind, and is idempotent", () => {
    const native = injected(template()).template;
    const switched = (injectPodTemplate(native, {}, legacy) as { template: { spec: Spec } }).template;
    expect(switched.spec.containers.map((c) => c.name)).toEqual(["tsmesh-proxy", "app"]);
    expect(switched.spec.initContainers.map((c) => c.name)).toEqual(["tsmesh-init"]);
    expect((injectPodTemplate(switched, {}, legacy) as { template: unknown }).template).toEqual(switched);
    const back = injected(switched).template as { spec: Spec };
    expect(back).toEqual(native);
  });
});

describe("resolveOptions", () => {
  it("keeps TSMESH_VERSION equal to package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(TSMESH_VERSION).toBe(pkg.version);
  });

  it("rejects options that would produce a broken pod", () => {
    expect(() => resolveOptions({ controlPlane: "no-port" })).toThrow(InjectError);
    expect(() => resolveOptions({ proxyUid: 0 })).toThrow(/positive/);
    expect(() => resolveOptions({ image: "a b" })).toThrow(/image/);
    expect(() => resolveOptions({ sidecarMode: "sometimes" as "native" })).toThrow(/sidecar mode/);
    expect(resolveOptions({ controlPlane: "cp.mesh:15012", proxyUid: 2000 }).proxyUid).toBe(2000);
  });
});
