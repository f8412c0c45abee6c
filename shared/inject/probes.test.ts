import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { injectYaml } from "./yaml.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: orders
  labels: {app: orders}
spec:
  serviceAccountName: orders
  containers:
    - name: web
      image: orders:1
      ports:
        - {name: http, containerPort: 8080}
        - {name: admin, containerPort: 9090}
      readinessProbe:
        httpGet:
          path: /healthz?full=1
          port: http
          httpHeaders:
            - {name: X-Probe, value: "yes"}
        initialDelaySeconds: 3
        periodSeconds: 7
        timeoutSeconds: 2
        successThreshold: 1
        failureThreshold: 4
      livenessProbe:
        tcpSocket: {port: admin}
        periodSeconds: 11
      startupProbe:
        exec: {command: [cat, /tmp/started]}
    - name: rpc
      image: rpc:1
      readinessProbe:
        grpc: {port: 9000, service: orders.v1.Orders}
      livenessProbe:
        httpGet: {path: /live, port: 9001, scheme: HTTPS}
`;

function injectedPod(text: string): { pod: Obj; stderr: string[] } {
  const r = injectYaml(text);
  const docs = parseAllDocuments(r.yaml).map((d) => d.toJS() as Obj);
  return { pod: docs[0]!, stderr: r.workloads.flatMap((w) => w.warnings) };
}
const container = (pod: Obj, name: string): Obj => (pod.spec.containers as Obj[]).find((c) => c.name === name)!;
const proxyOf = (pod: Obj): Obj => [...((pod.spec.initContainers as Obj[]) ?? []), ...(pod.spec.containers as Obj[])].find((c) => c.name === "tsmesh-proxy")!;
const probersOf = (pod: Obj): Obj | undefined => {
  const v = (proxyOf(pod).env as { name: string; value?: string }[]).find((e) => e.name === "TSMESH_APP_PROBERS")?.value;
  return v === undefined ? undefined : (JSON.parse(v) as Obj);
};

describe("injection rewrites app probes to the sidecar's /app-health (kubelet probes were refused by STRICT mTLS)", () => {
  it("moves httpGet with a named port and headers to the admin port, keeping every timing field", () => {
    const { pod } = injectedPod(POD);
    expect(container(pod, "web").readinessProbe).toEqual({
      httpGet: { path: "/app-health/web/readyz", port: 15020, scheme: "HTTP" },
      initialDelaySeconds: 3,
      periodSeconds: 7,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 4,
    });
    expect(probersOf(pod)!["/app-health/web/readyz"]).toEqual({
      httpGet: { path: "/healthz?full=1", port: 8080, scheme: "HTTP", httpHeaders: [{ name: "X-Probe", value: "yes" }] },
      timeoutSeconds: 2,
    });
  });

  it("moves tcpSocket (named port) and grpc (with service) probes, and keeps HTTPS for the sidecar", () => {
    const { pod } = injectedPod(POD);
    expect(container(pod, "web").livenessProbe).toEqual({ httpGet: { path: "/app-health/web/livez", port: 15020, scheme: "HTTP" }, periodSeconds: 11 });
    expect(container(pod, "rpc").readinessProbe).toEqual({ httpGet: { path: "/app-health/rpc/readyz", port: 15020, scheme: "HTTP" } });
    expect(probersOf(pod)).toEqual({
      "/app-health/web/readyz": expect.anything(),
      "/app-health/web/livez": { tcpSocket: { port: 9090 }, timeoutSeconds: 1 },
      "/app-health/rpc/readyz": { grpc: { port: 9000, service: "orders.v1.Orders" }, timeoutSeconds: 1 },
      "/app-health/rpc/livez": { httpGet: { path: "/live", port: 9001, scheme: "HTTPS" }, timeoutSeconds: 1 },
    });
  });

  it("leaves exec probes and the proxy's own probes alone", () => {
    const { pod } = injectedPod(POD);
    expect(container(pod, "web").startupProbe).toEqual({ exec: { command: ["cat", "/tmp/started"] } });
    const proxy = proxyOf(pod);
    expect(proxy.readinessProbe.httpGet).toEqual({ path: "/ready", port: 15020 });
    expect(proxy.livenessProbe.httpGet).toEqual({ path: "/live", port: 15020 });
    expect(proxy.startupProbe.httpGet).toEqual({ path: "/ready", port: 15020 });
  });

  it("keeps the probes as written with tsmesh.dev/rewrite-app-probers: \"false\"", () => {
    const text = POD.replace("  labels: {app: orders}\n", '  labels: {app: orders}\n  annotations: {tsmesh.dev/rewrite-app-probers: "false"}\n');
    const { pod } = injectedPod(text);
    const original = parseAllDocuments(text)[0]!.toJS() as Obj;
    expect(pod.spec.containers).toEqual(original.spec.containers);
    expect(probersOf(pod)).toBeUndefined();
  });

  it("is idempotent: injecting the injected pod again gives the same pod", () => {
    const once = injectYaml(POD).yaml;
    expect(injectYaml(once).yaml).toBe(once);
    // And an opt-out added later restores the original probes (ports resolved to numbers).
    expect(once).toMatch(/\n {2}annotations:\n/);
    const optedOut = once.replace(/\n {2}annotations:\n/, '\n  annotations:\n    tsmesh.dev/rewrite-app-probers: "false"\n');
    const { pod } = injectedPod(injectYaml(optedOut).yaml);
    expect(container(pod, "web").livenessProbe).toEqual({ tcpSocket: { port: 9090 }, periodSeconds: 11 });
    expect(probersOf(pod)).toBeUndefined();
  });

  it("warns about a named port the container does not declare and leaves that probe as written", () => {
    const { pod, stderr } = injectedPod(POD.replace("tcpSocket: {port: admin}", "tcpSocket: {port: metrics}"));
    expect(container(pod, "web").livenessProbe).toEqual({ tcpSocket: { port: "metrics" }, periodSeconds: 11 });
    expect(stderr.join("\n")).toMatch(/container web livenessProbe left unchanged: port "metrics"/);
  });

  it("rewrites in container mode too (the proxy is then the first container)", () => {
    const r = injectYaml(POD, { sidecarMode: "container" });
    const pod = parseAllDocuments(r.yaml)[0]!.toJS() as Obj;
    expect(pod.spec.containers[0].name).toBe("tsmesh-proxy");
    expect(container(pod, "rpc").readinessProbe.httpGet.path).toBe("/app-health/rpc/readyz");
    expect(Object.keys(probersOf(pod)!)).toHaveLength(4);
  });
});
