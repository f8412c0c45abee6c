// A started sidecar joins the mesh: bootstrap token -> workload certificate from the CA (renewed,
// swapped into the listeners on every rotation), then D's config-push client (sidecar/xds) feeding
// snapshots into the sidecar's config and pushed trust bundles back into the identity. The sidecar
// turns /ready once both a certificate and a config are in.
import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import type { Logger } from "../../shared/log.js";
import { identityCacheDir, WorkloadIdentity } from "../identity/index.js";
import type { Sidecar } from "../main.js";
import { XdsClient } from "../xds/index.js";

export interface JoinOptions {
  service: string;
  /** Namespace of the SPIFFE ID; default the mesh default ("default"). */
  namespace?: string;
  controlPlanes: string[];
  token: string | undefined;
  /** Anchors that verify the control plane (and peers until a bundle is pushed). */
  trustBundlePem: string[];
  /** Endpoint labels (e.g. version=v2 for canary subsets). */
  labels: Record<string, string>;
  /** Where peers reach this inbound listener; without it the endpoint is not registered. */
  advertiseAddress?: string;
  instanceId?: string;
  /** Subscribe to config push (false when a static --config is in use). Default true. */
  subscribe?: boolean;
  /** Last-known-good config file; the workload certificate is cached beside it (identityCacheDir). */
  cacheFile?: string;
  /** How long the first certificate may take per control-plane address (default 30 s). */
  startTimeoutMs?: number;
  log?: Logger;
}

export interface MeshMembership {
  identity: WorkloadIdentity;
  xds: XdsClient | undefined;
  stop(): Promise<void>;
}

/** Gets the first certificate from the first control plane that answers; throws if none does. */
async function firstCertificate(sidecar: Sidecar, opts: JoinOptions): Promise<WorkloadIdentity> {
  let lastError: unknown;
  for (const controlPlane of opts.controlPlanes) {
    const identity = new WorkloadIdentity({
      service: opts.service,
      namespace: opts.namespace,
      controlPlane,
      trustBundlePem: opts.trustBundlePem,
      token: opts.token,
      registry: sidecar.registry,
      log: opts.log,
      startTimeoutMs: opts.startTimeoutMs ?? 30_000,
      cacheDir: opts.cacheFile ? identityCacheDir(opts.cacheFile) : undefined,
    });
    try {
      identity.on("rotate", (state) => sidecar.identity.set(state));
      await identity.start();
      return identity;
    } catch (err) {
      identity.stop();
      lastError = err;
      // A refused token will be refused by every replica (they share etcd): stop here.
      const code = (err as { code?: number }).code;
      if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) break;
      opts.log?.warn("control plane did not answer; trying the next one", { controlPlane, err: err as Error });
    }
  }
  throw lastError;
}

export async function joinMesh(sidecar: Sidecar, opts: JoinOptions): Promise<MeshMembership> {
  const identity = await firstCertificate(sidecar, opts);
  let xds: XdsClient | undefined;
  if (opts.subscribe ?? true) {
    xds = new XdsClient({
      addresses: opts.controlPlanes,
      node: {
        service: opts.service,
        instanceId: opts.instanceId ?? `${opts.service}-${randomBytes(4).toString("hex")}`,
        address: opts.advertiseAddress,
        inboundPort: opts.advertiseAddress ? sidecar.ports.inbound : undefined,
        labels: opts.labels,
        namespace: opts.namespace,
      },
      tls: () => identity.current(),
      apply: (snapshot) => sidecar.config.set(snapshot),
      onTrustBundle: (pems) => identity.setTrustBundle(pems),
      cacheFile: opts.cacheFile,
      log: opts.log,
    });
    await xds.start();
    // A drain starts by deregistering, so peers stop picking this instance during the drain period.
    const client = xds;
    sidecar.onDrain(() => client.deregister());
  }
  return {
    identity,
    xds,
    stop: async () => {
      identity.stop();
      await xds?.stop();
    },
  };
}
