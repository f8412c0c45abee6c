// Injection of one pod template ({metadata, spec}) as plain data. Pure: the input is not
// modified. The YAML path (CLI) and the admission webhook both diff its output against the input.
import {
  ANNOTATION_APP_PORT,
  ANNOTATION_EXCLUDE_INBOUND_PORTS,
  ANNOTATION_EXCLUDE_OUTBOUND_CIDRS,
  ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_INJECT,
  ANNOTATION_INJECTED,
  ANNOTATION_VERSION,
  CA_BUNDLE_VOLUME,
  FALLBACK_APP_PORT,
  IDENTITY_VOLUME,
  INIT_CONTAINER,
  PROXY_CONTAINER,
  SA_TOKEN_VOLUME,
  TSMESH_VERSION,
} from "./constants.js";
import { caBundleVolume, identityVolume, initContainer, proxyContainer, tokenVolume, type ProxySettings } from "./containers.js";
import type { InjectOptions } from "./options.js";
import { earlierProbers, restoreProbes, rewriteDisabled, rewriteProbes } from "./probes.js";
import { isObject } from "./workloads.js";

type Obj = Record<string, unknown>;

export interface PodContext {
  /** Name of the owning workload (or the pod); the service name when no app label is set. */
  workloadName?: string;
  /** The owning workload object: its annotations/labels can opt the whole workload out. */
  owner?: Obj;
}

export type PodOutcome =
  | { status: "injected"; template: Obj; warnings: string[] }
  | { status: "skipped"; reason: string; warnings: string[] };

const strMap = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});

function optedOut(...objs: (Obj | undefined)[]): boolean {
  for (const o of objs) {
    const meta = strMap(o?.metadata);
    for (const v of [strMap(meta.annotations)[ANNOTATION_INJECT], strMap(meta.labels)[ANNOTATION_INJECT]]) {
      if (v === false || (typeof v === "string" && v.trim().toLowerCase() === "false")) return true;
    }
  }
  return false;
}

/** A DNS-label-shaped service name, as SPIFFE IDs and the control plane expect. */
function serviceName(template: Obj, ctx: PodContext, warnings: string[]): string {
  const labels = strMap(strMap(template.metadata).labels);
  const raw = [labels.app, labels["app.kubernetes.io/name"], ctx.workloadName].find(
    (v): v is string => typeof v === "string" && v.length > 0,
  );
  if (!raw) {
    warnings.push("no app label and no workload name: service name set to 'unknown'");
    return "unknown";
  }
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "unknown";
  if (clean !== raw) warnings.push(`service name ${JSON.stringify(raw)} normalised to ${JSON.stringify(clean)}`);
  return clean;
}

function appPort(template: Obj, containers: unknown[], warnings: string[]): number {
  const declared = strMap(strMap(template.metadata).annotations)[ANNOTATION_APP_PORT];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isInteger(n) && n > 0 && n < 65536) return n;
    warnings.push(`ignoring ${ANNOTATION_APP_PORT}=${JSON.stringify(declared)}: not a port number`);
  }
  for (const c of containers) {
    for (const p of Array.isArray(strMap(c).ports) ? (strMap(c).ports as unknown[]) : []) {
      const n = strMap(p).containerPort;
      if (typeof n === "number" && Number.isInteger(n) && n > 0 && n < 65536) return n;
    }
  }
  warnings.push(`no container declares a port: --app-port defaults to ${FALLBACK_APP_PORT} (set ${ANNOTATION_APP_PORT})`);
  return FALLBACK_APP_PORT;
}

const PORT_LIST = /^\d{1,5}(:\d{1,5})?(,\d{1,5}(:\d{1,5})?)*$/;
// IPv4 only, like deploy/iptables.sh: a value the script would reject must not reach the pod.
const CIDR = String.raw`\d{1,3}(\.\d{1,3}){3}\/\d{1,2}`;
const CIDR_LIST = new RegExp(`^${CIDR}(,${CIDR})*$`);

function listAnnotation(template: Obj, key: string, shape: RegExp, warnings: string[]): string {
  const v = strMap(strMap(template.metadata).annotations)[key];
  if (v === undefined || v === "") return "";
  const s = String(v).replace(/\s+/g, "");
  if (shape.test(s)) return s;
  warnings.push(`ignoring ${key}=${JSON.stringify(v)}: expected a comma-separated list`);
  return "";
}

const notOurs = (names: string[]) => (c: unknown) => !names.includes(String(strMap(c).name));

export function injectPodTemplate(template: Obj, ctx: PodContext, opts: InjectOptions): PodOutcome {
  const warnings: string[] = [];
  if (optedOut(template, ctx.owner)) return { status: "skipped", reason: `opted out (${ANNOTATION_INJECT}: "false")`, warnings };
  const spec = template.spec;
  if (!isObject(spec) || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    return { status: "skipped", reason: "pod template has no containers", warnings };
  }
  if (spec.hostNetwork === true) {
    // The redirect rules would be installed in the node's network namespace and capture every
    // process on the node, so host-network pods are never meshed.
    const reason = "hostNetwork pod: iptables redirection would hijack the node's traffic";
    return { status: "skipped", reason, warnings: [...warnings, `not injected: ${reason}`] };
  }

  const out = structuredClone(template);
  const outSpec = out.spec as Obj;
  // Drop what an earlier injection added, then add it fresh: injecting twice equals once, and a
  // re-injection with a new image or control plane updates the pod.
  const appContainers = (outSpec.containers as unknown[]).filter(notOurs([PROXY_CONTAINER]));
  const allInit: unknown[] = Array.isArray(outSpec.initContainers) ? outSpec.initContainers : [];
  const userInit = allInit.filter(notOurs([INIT_CONTAINER, PROXY_CONTAINER]));
  const earlierProxy = [...allInit, ...(outSpec.containers as unknown[])].find((c) => !notOurs([PROXY_CONTAINER])(c));
  restoreProbes(appContainers, earlierProbers(earlierProxy));
  const appProbers = rewriteDisabled(template, ctx.owner) ? {} : rewriteProbes(appContainers, warnings);
  const settings: ProxySettings = {
    service: serviceName(template, ctx, warnings),
    appPort: appPort(template, appContainers, warnings),
    excludeInboundPorts: listAnnotation(template, ANNOTATION_EXCLUDE_INBOUND_PORTS, PORT_LIST, warnings),
    excludeOutboundPorts: listAnnotation(template, ANNOTATION_EXCLUDE_OUTBOUND_PORTS, PORT_LIST, warnings),
    excludeOutboundCidrs: listAnnotation(template, ANNOTATION_EXCLUDE_OUTBOUND_CIDRS, CIDR_LIST, warnings),
    appProbers,
  };

  if (opts.sidecarMode === "native") {
    if (appContainers.length !== (outSpec.containers as unknown[]).length) outSpec.containers = appContainers;
    // Order as in Istio's native-sidecar mode: redirect first, then the proxy (its startup probe
    // holds back everything after it), then the user's init containers, which can already use
    // the mesh.
    outSpec.initContainers = [initContainer(opts, settings), proxyContainer(opts, settings), ...userInit];
  } else {
    // Older clusters: no proxy runs during init, so the user's init containers cannot reach
    // other services through the mesh (exclude their ports, as with Istio's classic sidecar).
    outSpec.containers = [proxyContainer(opts, settings), ...appContainers];
    outSpec.initContainers = [initContainer(opts, settings), ...userInit];
  }
  const volumes = (Array.isArray(outSpec.volumes) ? outSpec.volumes : []).filter(notOurs([IDENTITY_VOLUME, CA_BUNDLE_VOLUME, SA_TOKEN_VOLUME]));
  outSpec.volumes = [...volumes, identityVolume(), caBundleVolume(), tokenVolume()];
  // The CA issues the identity of the pod's ServiceAccount (TokenReview); the proxy asks for its service's.
  const sa = typeof outSpec.serviceAccountName === "string" && outSpec.serviceAccountName ? outSpec.serviceAccountName : "default";
  if (sa !== settings.service) {
    warnings.push(`serviceAccountName is "${sa}" but the service is "${settings.service}": the CA will refuse the proxy's certificate (set serviceAccountName: ${settings.service})`);
  }

  const meta = isObject(out.metadata) ? out.metadata : (out.metadata = {});
  const annotations = isObject(meta.annotations) ? meta.annotations : (meta.annotations = {});
  annotations[ANNOTATION_INJECTED] = "true";
  annotations[ANNOTATION_VERSION] = TSMESH_VERSION;
  return { status: "injected", template: out, warnings };
}
