// The app's own httpGet/tcpSocket/grpc probes, rewritten to the sidecar's admin port: the
// kubelet's plaintext probe aimed at the app port would be redirected to the STRICT mTLS inbound
// listener and refused. The original probe travels to the sidecar in TSMESH_APP_PROBERS (JSON
// keyed by the new path, as Istio's ISTIO_KUBE_APP_PROBERS), which performs it locally.
import { ADMIN_PORT, ANNOTATION_REWRITE_APP_PROBERS, APP_HEALTH_PREFIX, APP_PROBERS_ENV } from "./constants.js";
import { isObject } from "./workloads.js";

type Obj = Record<string, unknown>;

/** Kubernetes probe field -> the path segment Istio uses. */
export const PROBE_KINDS = { readinessProbe: "readyz", livenessProbe: "livez", startupProbe: "startupz" } as const;
const TIMING = ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"];

/** One carried probe, as the sidecar reads it (sidecar/admin/app-probers.ts). Ports are numbers. */
export type AppProber =
  | { httpGet: { path: string; port: number; scheme: "HTTP" | "HTTPS"; httpHeaders?: { name: string; value: string }[] }; timeoutSeconds: number }
  | { tcpSocket: { port: number }; timeoutSeconds: number }
  | { grpc: { port: number; service?: string }; timeoutSeconds: number };

export type AppProbers = Record<string, AppProber>;

export function rewriteDisabled(...objs: (Obj | undefined)[]): boolean {
  return objs.some((o) => {
    const meta = isObject(o?.metadata) ? o.metadata : {};
    const v = isObject(meta.annotations) ? meta.annotations[ANNOTATION_REWRITE_APP_PROBERS] : undefined;
    return v === false || (typeof v === "string" && v.trim().toLowerCase() === "false");
  });
}

function resolvePort(container: Obj, port: unknown): number | undefined {
  if (typeof port === "number") return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  if (typeof port !== "string") return undefined;
  if (/^\d+$/.test(port)) return resolvePort(container, Number(port));
  for (const p of Array.isArray(container.ports) ? container.ports : []) {
    if (isObject(p) && p.name === port) return resolvePort(container, p.containerPort);
  }
  return undefined;
}

function headers(v: unknown): { name: string; value: string }[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out = v.filter(isObject).map((h) => ({ name: String(h.name ?? ""), value: String(h.value ?? "") })).filter((h) => h.name);
  return out.length > 0 ? out : undefined;
}

/** The carried form of a probe, or a reason it is left as it is (undefined: exec or no handler). */
function carry(container: Obj, probe: Obj): AppProber | string | undefined {
  const timeoutSeconds = typeof probe.timeoutSeconds === "number" && probe.timeoutSeconds > 0 ? probe.timeoutSeconds : 1;
  const handler = [probe.httpGet, probe.tcpSocket, probe.grpc].find(isObject);
  if (!handler) return undefined;
  const port = resolvePort(container, handler.port);
  if (port === undefined) return `port ${JSON.stringify(handler.port)} is not a number nor a port name of the container`;
  if (port === ADMIN_PORT) return undefined; // already aimed at the sidecar
  if (handler === probe.httpGet) {
    const scheme = String(handler.scheme ?? "HTTP").toUpperCase() === "HTTPS" ? "HTTPS" : "HTTP";
    const path = typeof handler.path === "string" && handler.path ? handler.path : "/";
    const httpHeaders = headers(handler.httpHeaders);
    return { httpGet: { path, port, scheme, ...(httpHeaders ? { httpHeaders } : {}) }, timeoutSeconds };
  }
  if (handler === probe.tcpSocket) return { tcpSocket: { port }, timeoutSeconds };
  const service = typeof handler.service === "string" && handler.service ? handler.service : undefined;
  return { grpc: { port, ...(service ? { service } : {}) }, timeoutSeconds };
}

/** Restores probes an earlier injection rewrote, so injecting twice equals once. */
export function restoreProbes(containers: unknown[], earlier: AppProbers): void {
  for (const c of containers.filter(isObject)) {
    for (const field of Object.keys(PROBE_KINDS)) {
      const probe = c[field];
      if (!isObject(probe) || !isObject(probe.httpGet) || probe.httpGet.port !== ADMIN_PORT) continue;
      const original = earlier[String(probe.httpGet.path)];
      if (!original) continue;
      const { timeoutSeconds: _t, ...handler } = original;
      const timing = Object.fromEntries(TIMING.filter((k) => k in probe).map((k) => [k, probe[k]]));
      c[field] = { ...handler, ...timing };
    }
  }
}

/** Rewrites the app containers' probes in place; returns what the sidecar must perform. */
export function rewriteProbes(containers: unknown[], warnings: string[]): AppProbers {
  const probers: AppProbers = {};
  for (const c of containers.filter(isObject)) {
    for (const [field, kind] of Object.entries(PROBE_KINDS)) {
      const probe = c[field];
      if (!isObject(probe)) continue;
      const carried = carry(c, probe);
      if (carried === undefined) continue;
      if (typeof carried === "string") {
        warnings.push(`container ${String(c.name)} ${field} left unchanged: ${carried}`);
        continue;
      }
      const path = `${APP_HEALTH_PREFIX}${String(c.name)}/${kind}`;
      probers[path] = carried;
      const timing = Object.fromEntries(TIMING.filter((k) => k in probe).map((k) => [k, probe[k]]));
      c[field] = { httpGet: { path, port: ADMIN_PORT, scheme: "HTTP" }, ...timing };
    }
  }
  return probers;
}

/** The carried probes in an earlier injection's proxy container env, if any. */
export function earlierProbers(proxy: unknown): AppProbers {
  const env = isObject(proxy) && Array.isArray(proxy.env) ? proxy.env : [];
  const entry = env.find((e) => isObject(e) && e.name === APP_PROBERS_ENV);
  if (!isObject(entry) || typeof entry.value !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(entry.value);
    return isObject(parsed) ? (parsed as AppProbers) : {};
  } catch {
    return {};
  }
}
