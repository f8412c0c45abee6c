import { TSMESH_VERSION } from "./constants.js";

export interface ResourceList {
  cpu?: string;
  memory?: string;
}

export interface Resources {
  requests: ResourceList;
  limits: ResourceList;
}

export interface InjectOptions {
  /** host:port of the control plane's gRPC endpoint, as seen from inside the pod. */
  controlPlane: string;
  /** Image holding the tsmesh CLI and deploy/iptables.sh (deploy/Dockerfile). */
  image: string;
  /** UID the proxy runs as; the iptables rules let this UID's traffic out unredirected. */
  proxyUid: number;
  proxyResources: Resources;
  initResources: Resources;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /**
   * "native" (Kubernetes >= 1.29): the proxy is an init container with restartPolicy Always.
   * "container": the proxy is the first regular container, for older clusters.
   */
  sidecarMode: "native" | "container";
}

export const DEFAULT_INJECT_OPTIONS: InjectOptions = {
  controlPlane: "tsmesh-control-plane.tsmesh-system.svc:15012",
  image: `tsmesh/tsmesh:${TSMESH_VERSION}`,
  proxyUid: 1337,
  proxyResources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
  initResources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
  imagePullPolicy: "IfNotPresent",
  sidecarMode: "native",
};

export class InjectError extends Error {
  constructor(
    readonly code: "TSMESH_ERR_INJECT_OPTIONS" | "TSMESH_ERR_INJECT_YAML",
    message: string,
  ) {
    super(message);
    this.name = "InjectError";
  }
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** Fills defaults and rejects options that would produce a broken pod. */
export function resolveOptions(partial: Partial<InjectOptions> = {}): InjectOptions {
  const opts: InjectOptions = { ...DEFAULT_INJECT_OPTIONS, ...stripUndefined(partial) };
  if (!HOST_PORT.test(opts.controlPlane)) {
    throw new InjectError("TSMESH_ERR_INJECT_OPTIONS", `control plane address must be HOST:PORT, got ${JSON.stringify(opts.controlPlane)}`);
  }
  if (!opts.image || /\s/.test(opts.image)) {
    throw new InjectError("TSMESH_ERR_INJECT_OPTIONS", `image must be a non-empty reference without spaces, got ${JSON.stringify(opts.image)}`);
  }
  if (!Number.isInteger(opts.proxyUid) || opts.proxyUid <= 0 || opts.proxyUid > 2147483647) {
    // UID 0 would exempt every root process in the pod from redirection.
    throw new InjectError("TSMESH_ERR_INJECT_OPTIONS", `proxy UID must be a positive integer, got ${String(opts.proxyUid)}`);
  }
  if (opts.sidecarMode !== "native" && opts.sidecarMode !== "container") {
    throw new InjectError("TSMESH_ERR_INJECT_OPTIONS", `sidecar mode must be "native" or "container", got ${JSON.stringify(opts.sidecarMode)}`);
  }
  return opts;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
