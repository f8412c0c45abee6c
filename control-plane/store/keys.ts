// etcd key layout, in one place. Everything tsmesh stores lives under /tsmesh/v1/.
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import { KINDS, kindOfPlural, type Kind } from "../../shared/schema/kinds.js";

export const ROOT = "/tsmesh/v1/";

/** /tsmesh/v1/<plural>/ — prefix of all resources of a kind. */
export const kindPrefix = (kind: Kind): string => `${ROOT}${KINDS[kind].plural}/`;
/** /tsmesh/v1/<plural>/<name> */
export const resourceKey = (kind: Kind, name: string): string => `${kindPrefix(kind)}${name}`;

export const ENDPOINTS_PREFIX = `${ROOT}endpoints/`;
/** /tsmesh/v1/endpoints/<namespace>/<service>/<instanceId> (under a lease). */
export const endpointKey = (service: string, instanceId: string, namespace: string = DEFAULT_NAMESPACE): string =>
  `${ENDPOINTS_PREFIX}${namespace}/${service}/${instanceId}`;

/** /tsmesh/v1/tokens/<sha256 hex of token> -> {"service","namespace","expiresAt"} (under a lease). */
export const TOKENS_PREFIX = `${ROOT}tokens/`;
export const tokenKey = (sha256Hex: string): string => `${TOKENS_PREFIX}${sha256Hex}`;

/** /tsmesh/v1/certs/<serial> -> issued-certificate record written by the CA (under a lease ending with the cert). */
export const CERTS_PREFIX = `${ROOT}certs/`;
export const certRecordKey = (serial: string): string => `${CERTS_PREFIX}${serial}`;

/** /tsmesh/v1/sidecars/<instanceId> -> JSON status written by config push. */
export const SIDECARS_PREFIX = `${ROOT}sidecars/`;
export const sidecarKey = (instanceId: string): string => `${SIDECARS_PREFIX}${instanceId}`;

/** PEM anchors published by the control plane (from its CA dir) so every replica serves the same bundle. */
export const TRUST_BUNDLE_KEY = `${ROOT}trust-bundle`;

/** sha256 hex of the admin API token, shared by all control-plane replicas. */
export const ADMIN_TOKEN_KEY = `${ROOT}admin/token-sha256`;

export type ParsedKey =
  | { type: "resource"; kind: Kind; name: string }
  /** `namespace` is absent for a key of the older layout /tsmesh/v1/endpoints/<service>/<instanceId>. */
  | { type: "endpoint"; namespace?: string; service: string; instanceId: string }
  | { type: "sidecar"; instanceId: string }
  | { type: "other"; key: string };

/** Classifies a key seen in a watch or a range; handy for watchPrefix(ROOT, ...) consumers. */
export function parseKey(key: string): ParsedKey {
  if (!key.startsWith(ROOT)) return { type: "other", key };
  const parts = key.slice(ROOT.length).split("/");
  const [group, a, b, c] = parts;
  if (group === "endpoints" && a && b && c && parts.length === 4) return { type: "endpoint", namespace: a, service: b, instanceId: c };
  if (group === "endpoints" && a && b && parts.length === 3) return { type: "endpoint", service: a, instanceId: b };
  if (group === "sidecars" && a && parts.length === 2) return { type: "sidecar", instanceId: a };
  const kind = kindOfPlural(group);
  if (kind && a && parts.length === 2) return { type: "resource", kind, name: a };
  return { type: "other", key };
}
