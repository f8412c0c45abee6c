// The admission webhook over real HTTPS on 127.0.0.1: AdmissionReview in, JSONPatch out. The
// returned patch is applied with an independent RFC 6902 library and must give the same pod
// as `tsmesh inject` gives the Deployment's template.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import jsonpatch from "fast-json-patch";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedServingCert, startWebhook, type Webhook } from "../../control-plane/webhook/index.js";
import { injectYaml } from "../../shared/inject/index.js";
import { createLogger } from "../../shared/log.js";

type Obj = Record<string, unknown>;
const quiet = createLogger("webhook-test", { level: "error" });
const cert = selfSignedServingCert(["127.0.0.1", "localhost"]);
let hook: Webhook;

function call(path: string, body: string | undefined, method = "POST", ca = cert.certPem): Promise<{ status: number; json: Obj }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port: hook.port, path, method, ca, headers: { "content-type": "application/json" }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Obj }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const admissionReview = (object: unknown, extra: Obj = {}) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    namespace: "shop",
    operation: "CREATE",
    userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
    object,
    dryRun: false,
    ...extra,
  },
});

const fixtureText = readFileSync(new URL("../fixtures/manifests/deployment-init-containers.yaml", import.meta.url), "utf8");
const deploymentTemplate = () => ((parse(fixtureText) as Obj).spec as Obj).template as Obj;

/** The pod the ReplicaSet controller would create from the Deployment's template. */
function podFromTemplate(template: Obj): Obj {
  const meta = template.metadata as Obj;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: "orders-5d8f7c9b6-",
      namespace: "shop",
      labels: { ...(meta.labels as Obj), "pod-template-hash": "5d8f7c9b6" },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "orders-5d8f7c9b6", uid: "x", controller: true }],
    },
    spec: template.spec,
  };
}

async function mutate(pod: Obj, extra: Obj = {}) {
  const { status, json } = await call("/mutate", JSON.stringify(admissionReview(pod, extra)));
  expect(status).toBe(200);
  expect(json).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
  return json.response as { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] };
}

beforeAll(async () => {
  hook = await startWebhook({ port: 0, host: "127.0.0.1", certPem: cert.certPem, keyPem: cert.keyPem, logger: quiet, maxBodyBytes: 256 * 1024 });
});
afterAll(async () => hook?.close());

describe("admission webhook over HTTPS", () => {
  it("returns a JSONPatch that yields the same pod as tsmesh inject", async () => {
    const pod = podFromTemplate(deploymentTemplate());
    const res = await mutate(pod);
    expect(res.uid).toBe("705ab4f5-6393-11e8-b7cc-42010a800002");
    expect(res.allowed).toBe(true);
    expect(res.patchType).toBe("JSONPatch");
    const ops = JSON.parse(Buffer.from(res.patch!, "base64").toString()) as jsonpatch.Operation[];
    // Inserted, not replaced: the user's init containers stay where the API server has them.
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      "add /metadata/annotations",
      "add /spec/initContainers/0",
      "add /spec/initContainers/1",
      "add /spec/volumes/1", // identity (in-memory)
      "add /spec/volumes/2", // trust bundle from ConfigMap tsmesh-ca-bundle
      "add /spec/volumes/3", // projected ServiceAccount token (audience tsmesh)
    ]);
    const patched = jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument as Obj;

    const cliTemplate = ((parse(injectYaml(fixtureText).yaml) as Obj).spec as Obj).template as Obj;
    expect(patched.spec).toEqual(cliTemplate.spec);
    expect((patched.metadata as Obj).annotations).toEqual((cliTemplate.metadata as Obj).annotations);
    expect((patched.metadata as Obj).ownerReferences).toEqual((pod.metadata as Obj).ownerReferences);
  });

  it("rewrites the app's probes to the sidecar's /app-health as tsmesh inject does, and leaves a CLI-injected pod alone", async () => {
    const podText = readFileSync(new URL("../fixtures/manifests/multi-container-pod.yaml", import.meta.url), "utf8");
    const pod = parse(podText) as Obj;
    const res = await mutate(pod);
    const ops = JSON.parse(Buffer.from(res.patch!, "base64").toString()) as jsonpatch.Operation[];
    const patched = jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument as Obj;
    const app = ((patched.spec as Obj).containers as Obj[]).find((c) => c.name === "app")!;
    expect(app.readinessProbe).toEqual({ httpGet: { path: "/app-health/app/readyz", port: 15020, scheme: "HTTP" } });
    const proxy = ((patched.spec as Obj).initContainers as Obj[]).find((c) => c.name === "tsmesh-proxy")!;
    const env = (proxy.env as { name: string; value: string }[]).find((e) => e.name === "TSMESH_APP_PROBERS")!;
    expect(JSON.parse(env.value)).toEqual({ "/app-health/app/readyz": { httpGet: { path: "/healthz", port: 8080, scheme: "HTTP" }, timeoutSeconds: 1 } });
    expect(patched.spec).toEqual((parse(injectYaml(podText).yaml) as Obj).spec);
    expect((await mutate(parse(injectYaml(podText).yaml) as Obj)).patch).toBeUndefined();
  });

  it("escapes '/' in annotation keys when the pod already has annotations", async () => {
    const pod = podFromTemplate(deploymentTemplate());
    (pod.metadata as Obj).annotations = { "prometheus.io/scrape": "true" };
    const res = await mutate(pod);
    const ops = JSON.parse(Buffer.from(res.patch!, "base64").toString()) as { path: string }[];
    expect(ops.map((o) => o.path)).toContain("/metadata/annotations/tsmesh.dev~1injected");
    const patched = jsonpatch.applyPatch(structuredClone(pod), ops as jsonpatch.Operation[], true, false).newDocument as Obj;
    expect((patched.metadata as Obj).annotations).toMatchObject({ "prometheus.io/scrape": "true", "tsmesh.dev/injected": "true" });
  });

  it("sends no patch for an already injected pod (CLI-injected template in an enabled namespace)", async () => {
    const cliTemplate = ((parse(injectYaml(fixtureText).yaml) as Obj).spec as Obj).template as Obj;
    const res = await mutate(podFromTemplate(cliTemplate));
    // No patch; the fixture's ServiceAccount still does not match its service, and that is said.
    expect(res).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
      warnings: [expect.stringContaining('serviceAccountName is "default" but the service is "orders"')],
    });
  });

  it("allows without a patch: opt-out, hostNetwork (with a warning), updates and other kinds", async () => {
    const optOut = podFromTemplate(deploymentTemplate());
    (optOut.metadata as Obj).annotations = { "tsmesh.dev/inject": "false" };
    expect(await mutate(optOut)).toEqual({ uid: expect.any(String), allowed: true });

    const hostNet = podFromTemplate(deploymentTemplate());
    (hostNet.spec as Obj).hostNetwork = true;
    const h = await mutate(hostNet);
    expect(h.allowed).toBe(true);
    expect(h.patch).toBeUndefined();
    expect(h.warnings?.join()).toMatch(/hostNetwork/);

    expect((await mutate(podFromTemplate(deploymentTemplate()), { operation: "UPDATE" })).patch).toBeUndefined();
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
    expect((await mutate(cm, { kind: { group: "", version: "v1", kind: "ConfigMap" } })).patch).toBeUndefined();
    // A pod without containers is invalid; the API server will reject it, we must not.
    expect(await mutate({ metadata: {}, spec: {} })).toMatchObject({ allowed: true });
  });

  it("answers 400 to malformed reviews, 413 to oversized bodies, 404/405 elsewhere", async () => {
    expect((await call("/mutate", "{not json")).status).toBe(400);
    const noUid = admissionReview({}) as { request: Obj };
    delete noUid.request.uid;
    const r = await call("/mutate", JSON.stringify(noUid));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: "TSMESH_ERR_ADMISSION_REVIEW", error: "missing request.uid" });
    expect((await call("/mutate", JSON.stringify({ ...admissionReview({}), apiVersion: "admission.k8s.io/v1beta1" }))).status).toBe(400);
    const big = JSON.stringify(admissionReview({ metadata: { annotations: { pad: "x".repeat(300 * 1024) } }, spec: {} }));
    expect((await call("/mutate", big)).status).toBe(413);
    // Same limit when the size is not declared up front (chunked upload).
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: "127.0.0.1", port: hook.port, path: "/mutate", method: "POST", ca: cert.certPem }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.setHeader("transfer-encoding", "chunked");
      for (let i = 0; i < 10; i++) req.write("x".repeat(32 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await call("/mutate", undefined, "GET")).status).toBe(405);
    expect((await call("/nope", "{}")).status).toBe(404);
    expect(await call("/healthz", undefined, "GET")).toEqual({ status: 200, json: { status: "ok" } });
    // Still serving after all that.
    expect((await mutate(podFromTemplate(deploymentTemplate()))).patchType).toBe("JSONPatch");
  });

  it("is refused by a client that does not trust its certificate", async () => {
    const other = selfSignedServingCert(["127.0.0.1"]);
    await expect(call("/healthz", undefined, "GET", other.certPem)).rejects.toThrow(/self.signed|certificate/i);
  });
});

describe("webhook certificate rotation", () => {
  it("serves a rotated certificate from disk without a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmesh-webhook-"));
    const [certFile, keyFile] = [join(dir, "tls.crt"), join(dir, "tls.key")];
    const first = selfSignedServingCert(["127.0.0.1"]);
    writeFileSync(certFile, first.certPem);
    writeFileSync(keyFile, first.keyPem);
    const w = await startWebhook({ port: 0, host: "127.0.0.1", certFile, keyFile, certCheckIntervalMs: 50, logger: quiet });
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: w.port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on("error", reject);
      });
    try {
      const before = await served();
      const second = selfSignedServingCert(["127.0.0.1"]);
      writeFileSync(keyFile, second.keyPem);
      writeFileSync(certFile, second.certPem);
      const want = new (await import("node:crypto")).X509Certificate(second.certPem).fingerprint256;
      let now = before;
      for (let i = 0; i < 60 && now !== want; i++) {
        await new Promise((r) => setTimeout(r, 50));
        now = await served();
      }
      expect(now).toBe(want);
      expect(now).not.toBe(before);
    } finally {
      await w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
