// What `--control-plane/--token/--ca-bundle/--labels` (and their env fallbacks) mean, as a pure
// function of flags + env, so the CLI and `tsmesh run` agree and the rules are unit-tested.
import os from "node:os";
import { parseControlPlanes } from "../xds/addresses.js";

export class BootstrapFlagError extends Error {
  readonly code = "TSMESH_ERR_BAD_FLAG";
}

export interface BootstrapFlags {
  controlPlane?: string;
  /** --token or --bootstrap-token (the same thing; ARCHITECTURE names --token). */
  token?: string;
  bootstrapToken?: string;
  /** File holding the token, read at start (e.g. a projected Kubernetes ServiceAccount token). */
  tokenFile?: string;
  /** Namespace of the workload's SPIFFE ID; default $POD_NAMESPACE, else the mesh default. */
  namespace?: string;
  caBundle?: string;
  /** Legacy --ca of the static mode: accepted as the bundle when --ca-bundle is absent. */
  ca?: string;
  labels?: string;
  advertiseAddress?: string;
  instanceId?: string;
}

export interface BootstrapSettings {
  controlPlanes: string[];
  token: string | undefined;
  /** Read at start when no token was given directly. */
  tokenFile: string | undefined;
  namespace: string | undefined;
  caBundleFile: string;
  labels: Record<string, string>;
  advertiseAddress: string | undefined;
  instanceId: string;
}

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;

/** `k=v,k2=v2` -> record; empty string -> {}. Throws on a malformed pair. */
export function parseLabels(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of (value ?? "").split(",")) {
    const pair = raw.trim();
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const k = eq < 0 ? pair : pair.slice(0, eq).trim();
    const v = eq < 0 ? "" : pair.slice(eq + 1).trim();
    if (eq < 0 || !LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) throw new BootstrapFlagError(`--labels: "${pair}" is not key=value (letters, digits, . _ - /)`);
    if (k in out) throw new BootstrapFlagError(`--labels: "${k}" given twice`);
    out[k] = v;
  }
  return out;
}

/**
 * Undefined when no control plane is configured (static mode). TSMESH_TOKEN is deliberately not
 * read: it is the admin API token of the CLI, never a sidecar's bootstrap token.
 */
export function resolveBootstrap(flags: BootstrapFlags, env: NodeJS.ProcessEnv = process.env): BootstrapSettings | undefined {
  const cp = flags.controlPlane ?? env.TSMESH_CONTROL_PLANE;
  if (!cp) return undefined;
  let controlPlanes: string[];
  try {
    controlPlanes = parseControlPlanes(cp);
  } catch (err) {
    throw new BootstrapFlagError((err as Error).message.replace(/^TSMESH_ERR_BAD_FLAG: /, ""));
  }
  if (flags.token && flags.bootstrapToken && flags.token !== flags.bootstrapToken) throw new BootstrapFlagError("--token and --bootstrap-token differ; give one");
  if ((flags.token || flags.bootstrapToken) && flags.tokenFile) throw new BootstrapFlagError("--token and --token-file both given; give one");
  const caBundleFile = flags.caBundle ?? env.TSMESH_CA_BUNDLE ?? flags.ca;
  if (!caBundleFile) throw new BootstrapFlagError("--ca-bundle FILE (or TSMESH_CA_BUNDLE) is needed with --control-plane: the anchors that verify the control plane");
  return {
    controlPlanes,
    token: flags.token ?? flags.bootstrapToken ?? (flags.tokenFile ? undefined : env.TSMESH_BOOTSTRAP_TOKEN || undefined),
    tokenFile: flags.tokenFile ?? (env.TSMESH_BOOTSTRAP_TOKEN_FILE || undefined),
    namespace: flags.namespace ?? (env.POD_NAMESPACE || undefined),
    caBundleFile,
    labels: parseLabels(flags.labels ?? env.TSMESH_LABELS),
    advertiseAddress: flags.advertiseAddress ?? (env.POD_IP || undefined),
    instanceId: flags.instanceId ?? (env.POD_NAME || `${os.hostname()}-${process.pid}`),
  };
}
