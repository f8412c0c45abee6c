// The objects added to a pod: the redirect init container, the proxy as a native sidecar
// (an init container with restartPolicy Always, Kubernetes >= 1.29; or, in "container" mode for
// older clusters, the first app container) and the identity volume.
import {
  ADMIN_PORT,
  CA_BUNDLE_CONFIGMAP,
  CA_BUNDLE_FILE,
  CA_BUNDLE_MOUNT_PATH,
  CA_BUNDLE_VOLUME,
  IDENTITY_MOUNT_PATH,
  APP_PROBERS_ENV,
  IDENTITY_VOLUME,
  INBOUND_PORT,
  INIT_CONTAINER,
  IPTABLES_COMMAND,
  OUTBOUND_PORT,
  PROXY_CONTAINER,
  SA_TOKEN_AUDIENCE,
  SA_TOKEN_MOUNT_PATH,
  SA_TOKEN_VOLUME,
} from "./constants.js";
import { SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS } from "../sidecar-node-options.js";
import type { InjectOptions } from "./options.js";
import type { AppProbers } from "./probes.js";

export interface ProxySettings {
  service: string;
  appPort: number;
  excludeInboundPorts: string;
  excludeOutboundPorts: string;
  excludeOutboundCidrs: string;
  /** The app's rewritten probes, performed by the proxy (probes.ts); empty: none. */
  appProbers: AppProbers;
}

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export function initContainer(opts: InjectOptions, s: ProxySettings): Record<string, unknown> {
  const env = [
    { name: "TSMESH_PROXY_UID", value: String(opts.proxyUid) },
    { name: "TSMESH_INBOUND_PORT", value: String(INBOUND_PORT) },
    { name: "TSMESH_OUTBOUND_PORT", value: String(OUTBOUND_PORT) },
    { name: "TSMESH_ADMIN_PORT", value: String(ADMIN_PORT) },
  ];
  if (s.excludeInboundPorts) env.push({ name: "TSMESH_EXCLUDE_INBOUND_PORTS", value: s.excludeInboundPorts });
  if (s.excludeOutboundPorts) env.push({ name: "TSMESH_EXCLUDE_OUTBOUND_PORTS", value: s.excludeOutboundPorts });
  if (s.excludeOutboundCidrs) env.push({ name: "TSMESH_EXCLUDE_OUTBOUND_CIDRS", value: s.excludeOutboundCidrs });
  return {
    name: INIT_CONTAINER,
    image: opts.image,
    imagePullPolicy: opts.imagePullPolicy,
    command: [IPTABLES_COMMAND],
    env,
    resources: structuredClone(opts.initResources),
    // Root with only the two network capabilities: enough to program the pod's own netfilter
    // tables, nothing else. runAsNonRoot is set explicitly so a pod-level true does not block it.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
  };
}

const adminProbe = (path: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port: ADMIN_PORT },
  periodSeconds,
  timeoutSeconds: 1,
  failureThreshold,
});

// Clusters before native sidecars: the kubelet starts containers in order and runs each
// postStart hook to completion before starting the next, so this hook holds the app back until
// the proxy is ready (at most 60 s). Jobs must POST /quit to the admin port when done.
const WAIT_READY = `(async()=>{for(let i=0;i<600;i++){try{if((await fetch("http://127.0.0.1:${ADMIN_PORT}/ready")).ok)process.exit(0)}catch{}await new Promise(r=>setTimeout(r,100))}process.exit(1)})()`;

export function proxyContainer(opts: InjectOptions, s: ProxySettings): Record<string, unknown> {
  const native = opts.sidecarMode === "native";
  return {
    name: PROXY_CONTAINER,
    image: opts.image,
    imagePullPolicy: opts.imagePullPolicy,
    // Native sidecar: started before the app containers (the startup probe gates them), kept
    // running beside them, stopped after them — so a Job's pod completes when its app exits.
    ...(native ? { restartPolicy: "Always" } : { lifecycle: { postStart: { exec: { command: ["node", "-e", WAIT_READY] } } } }),
    args: [
      "sidecar",
      "--service", s.service,
      "--app-port", String(s.appPort),
      "--control-plane", opts.controlPlane,
      "--inbound-port", String(INBOUND_PORT),
      "--outbound-port", String(OUTBOUND_PORT),
      "--admin-port", String(ADMIN_PORT),
      "--ca-bundle", `${CA_BUNDLE_MOUNT_PATH}/${CA_BUNDLE_FILE}`,
    ],
    env: [
      { name: "TSMESH_SERVICE", value: s.service },
      { name: "TSMESH_CONTROL_PLANE", value: opts.controlPlane },
      { name: "TSMESH_IDENTITY_DIR", value: IDENTITY_MOUNT_PATH },
      // First certificate: the pod's ServiceAccount token, checked by the CA with TokenReview.
      { name: "TSMESH_BOOTSTRAP_TOKEN_FILE", value: `${SA_TOKEN_MOUNT_PATH}/token` },
      // Last-known-good config and the cached certificate in the in-memory volume (the root
      // filesystem is read-only): a restarted proxy container starts without the control plane.
      { name: "TSMESH_CONFIG_CACHE", value: `${IDENTITY_MOUNT_PATH}/config.json` },
      fieldEnv("POD_NAME", "metadata.name"),
      fieldEnv("POD_NAMESPACE", "metadata.namespace"),
      fieldEnv("POD_IP", "status.podIP"),
      fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
      // Young-generation cap and two malloc arenas: ~35 MB less RSS under load (shared/sidecar-node-options.ts).
      { name: "NODE_OPTIONS", value: SIDECAR_NODE_OPTIONS },
      { name: "MALLOC_ARENA_MAX", value: SIDECAR_MALLOC_ARENA_MAX },
      ...(Object.keys(s.appProbers).length > 0 ? [{ name: APP_PROBERS_ENV, value: JSON.stringify(s.appProbers) }] : []),
    ],
    ports: [
      { name: "tsmesh-outbound", containerPort: OUTBOUND_PORT, protocol: "TCP" },
      { name: "tsmesh-inbound", containerPort: INBOUND_PORT, protocol: "TCP" },
      { name: "tsmesh-admin", containerPort: ADMIN_PORT, protocol: "TCP" },
    ],
    ...(native ? { startupProbe: adminProbe("/ready", 1, 120) } : {}),
    readinessProbe: adminProbe("/ready", 5, 3),
    livenessProbe: adminProbe("/live", 10, 3),
    resources: structuredClone(opts.proxyResources),
    securityContext: {
      runAsUser: opts.proxyUid,
      runAsGroup: opts.proxyUid,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: IDENTITY_VOLUME, mountPath: IDENTITY_MOUNT_PATH },
      { name: CA_BUNDLE_VOLUME, mountPath: CA_BUNDLE_MOUNT_PATH, readOnly: true },
      { name: SA_TOKEN_VOLUME, mountPath: SA_TOKEN_MOUNT_PATH, readOnly: true },
    ],
  };
}

/** Workload keys live in memory only: never written to the node's disk. */
export function identityVolume(): Record<string, unknown> {
  return { name: IDENTITY_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "16Mi" } };
}

/** The mesh trust bundle from the namespace's ConfigMap (create it before meshing a namespace). */
export function caBundleVolume(): Record<string, unknown> {
  return { name: CA_BUNDLE_VOLUME, configMap: { name: CA_BUNDLE_CONFIGMAP, items: [{ key: CA_BUNDLE_FILE, path: CA_BUNDLE_FILE }] } };
}

/** A ServiceAccount token for the tsmesh audience only, rotated by the kubelet. */
export function tokenVolume(): Record<string, unknown> {
  return {
    name: SA_TOKEN_VOLUME,
    projected: { sources: [{ serviceAccountToken: { audience: SA_TOKEN_AUDIENCE, expirationSeconds: 3600, path: "token" } }] },
  };
}
