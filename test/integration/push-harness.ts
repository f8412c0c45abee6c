// Shared by the push tests: bootstrap a workload certificate through the REST API and build an
// xds client on it; wait helpers.
import path from "node:path";
import { loadBundle } from "../../control-plane/ca/index.js";
import type { Snapshot } from "../../shared/snapshot.js";
import { WorkloadIdentity } from "../../sidecar/identity/index.js";
import { XdsClient, type XdsClientOptions } from "../../sidecar/xds/index.js";

export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function apiToken(apiPort: number, admin: string, service: string, namespace?: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ service, ttl: "10m", ...(namespace ? { namespace } : {}) }),
  });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function apiGet<T>(apiPort: number, admin: string, p: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${apiPort}${p}`, { headers: { authorization: `Bearer ${admin}` } });
  if (res.status !== 200) throw new Error(`GET ${p}: ${res.status}`);
  return (await res.json()) as T;
}

/** A certificate for `service` (of `namespace`, default "default") from the CA at grpcPort, bootstrapped with a REST token. */
export async function identityFor(opts: { apiPort: number; grpcPort: number; admin: string; caDir: string; service: string; namespace?: string }): Promise<WorkloadIdentity> {
  const wi = new WorkloadIdentity({
    service: opts.service,
    namespace: opts.namespace,
    controlPlane: `127.0.0.1:${opts.grpcPort}`,
    trustBundlePem: await loadBundle(path.join(opts.caDir, "bundle.crt")),
    token: await apiToken(opts.apiPort, opts.admin, opts.service, opts.namespace),
  });
  await wi.start();
  return wi;
}

export interface TestSidecar {
  client: XdsClient;
  applied: Snapshot[];
  responses: string[];
}

export function xdsFor(wi: WorkloadIdentity, opts: Omit<XdsClientOptions, "tls" | "apply"> & { apply?: XdsClientOptions["apply"] }): TestSidecar {
  const applied: Snapshot[] = [];
  const responses: string[] = [];
  const client = new XdsClient({
    backoffBaseMs: 50,
    backoffMaxMs: 500,
    ...opts,
    tls: () => wi.current(),
    apply: async (s) => {
      await opts.apply?.(s);
      applied.push(s);
    },
  });
  client.on("response", (v) => responses.push(v));
  return { client, applied, responses };
}

export function route(name: string, host: string, backend: string, weight = 1) {
  return {
    apiVersion: "tsmesh.dev/v1" as const,
    kind: "HTTPRoute" as const,
    metadata: { name },
    spec: { hosts: [host], rules: [{ backends: [{ service: backend, weight }] }] },
  };
}
