// Static `--config FILE`: a Snapshot JSON (shared/snapshot.ts), validated with the same schema as
// the API so a bad file fails at start with the offending field named.
import { readFileSync } from "node:fs";
import { meshConfigSpec } from "../../shared/schema/mesh-config.js";
import { splitServiceKey } from "../../shared/service-key.js";
import { validateResource } from "../../shared/schema/validate.js";
import type { Kind } from "../../shared/schema/kinds.js";
import type { EndpointRecord, Snapshot } from "../../shared/snapshot.js";

export class ConfigError extends Error {
  readonly code = "TSMESH_ERR_INVALID_CONFIG";
}

function resources<K extends Kind>(list: unknown, kind: K, field: string) {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError(`${field} must be an array`);
  return list.map((item, i) => {
    const v = validateResource(item, kind);
    if (!v.ok) throw new ConfigError(`${field}[${i}]: ${v.error}`);
    return v.resource;
  });
}

function endpoints(raw: unknown): Record<string, EndpointRecord[]> {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError("endpoints must be an object of service -> list");
  const out: Record<string, EndpointRecord[]> = {};
  for (const [service, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) throw new ConfigError(`endpoints.${service} must be an array`);
    out[service] = list.map((e: Partial<EndpointRecord>, i) => {
      const where = `endpoints.${service}[${i}]`;
      if (typeof e?.address !== "string" || e.address === "") throw new ConfigError(`${where}.address must be a host`);
      if (!Number.isInteger(e.port) || e.port! < 1 || e.port! > 65535) throw new ConfigError(`${where}.port must be 1..65535`);
      // Keys are "<namespace>/<service>" (pushed) or a short service name (a hand-written file).
      const qualified = service.includes("/") ? splitServiceKey(service) : undefined;
      const namespace = qualified?.namespace ?? (typeof e.namespace === "string" && e.namespace !== "" ? e.namespace : undefined);
      return {
        service: qualified?.service ?? service,
        instanceId: typeof e.instanceId === "string" ? e.instanceId : `${e.address}:${e.port}`,
        address: e.address,
        port: e.port!,
        labels: e.labels && typeof e.labels === "object" ? e.labels : {},
        ...(namespace ? { namespace } : {}),
      };
    });
  }
  return out;
}

/** Parses and validates a Snapshot from JSON text; throws ConfigError naming the bad field. */
export function parseSnapshot(text: string): Snapshot {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError("config must be a JSON object");
  const mc = meshConfigSpec.safeParse(raw.meshConfig ?? {});
  if (!mc.success) throw new ConfigError(`meshConfig: ${mc.error.issues[0]?.message ?? "invalid"}`);
  const bundle = raw.trustBundle ?? [];
  if (!Array.isArray(bundle) || bundle.some((b) => typeof b !== "string")) throw new ConfigError("trustBundle must be an array of PEM strings");
  return {
    version: raw.version === undefined ? "0" : String(raw.version),
    meshConfig: mc.data,
    routes: resources(raw.routes, "HTTPRoute", "routes"),
    policies: resources(raw.policies, "DestinationPolicy", "policies"),
    authz: resources(raw.authz, "AuthorizationPolicy", "authz"),
    endpoints: endpoints(raw.endpoints),
    trustBundle: bundle as string[],
  };
}

export function loadSnapshotFile(path: string): Snapshot {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseSnapshot(text);
}
