import { z } from "zod";
import { API_VERSION, metadata } from "./common.js";
import { httpRouteSpec } from "./http-route.js";
import { destinationPolicySpec } from "./destination-policy.js";
import { authorizationPolicySpec } from "./authorization-policy.js";
import { meshConfigSpec } from "./mesh-config.js";

/**
 * The policy kinds users write. `plural` is the REST path segment and the etcd key segment:
 * /api/v1/<plural>/<name> and /tsmesh/v1/<plural>/<name>.
 */
export const KINDS = {
  HTTPRoute: { plural: "routes", spec: httpRouteSpec },
  DestinationPolicy: { plural: "policies", spec: destinationPolicySpec },
  AuthorizationPolicy: { plural: "authz", spec: authorizationPolicySpec },
  MeshConfig: { plural: "meshconfig", spec: meshConfigSpec },
} as const;

export type Kind = keyof typeof KINDS;
export type Plural = (typeof KINDS)[Kind]["plural"];
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

export type SpecOf<K extends Kind> = z.infer<(typeof KINDS)[K]["spec"]>;

export interface Resource<K extends Kind = Kind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: z.infer<typeof metadata>;
  spec: SpecOf<K>;
}

export type HTTPRoute = Resource<"HTTPRoute">;
export type DestinationPolicy = Resource<"DestinationPolicy">;
export type AuthorizationPolicy = Resource<"AuthorizationPolicy">;
export type MeshConfig = Resource<"MeshConfig">;

const PLURAL_TO_KIND = new Map<string, Kind>(KIND_NAMES.map((k) => [KINDS[k].plural, k]));

/** The kind whose plural is exactly `plural` (REST path and etcd key segment), else undefined. */
export const kindOfPlural = (plural: string | undefined): Kind | undefined => (plural === undefined ? undefined : PLURAL_TO_KIND.get(plural));

/** Accepts a kind ("HTTPRoute"), its plural ("routes") or common short forms ("route", "httproute"). */
export function resolveKind(word: string): Kind | undefined {
  const lower = word.toLowerCase();
  for (const k of KIND_NAMES) {
    const plural = KINDS[k].plural;
    if (lower === k.toLowerCase() || lower === plural || lower === `${k.toLowerCase()}s` || lower === plural.replace(/s$/, "")) return k;
  }
  return PLURAL_TO_KIND.get(lower);
}
