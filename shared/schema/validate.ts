import { z } from "zod";
import { API_VERSION, metadata } from "./common.js";
import { KINDS, type Kind, type Resource } from "./kinds.js";

export interface ValidationError {
  /** Stable code for clients and logs. */
  code: "TSMESH_ERR_INVALID_RESOURCE";
  error: string;
  /** Path of the offending field, e.g. "spec.rules[0].retry.attempts". */
  field: string;
}

export type Validated<K extends Kind> = { ok: true; resource: Resource<K> } | ({ ok: false } & ValidationError);

/** Renders a zod issue path the way users write it: spec.rules[0].retry.attempts. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function envelope(kind: Kind) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata,
    spec: KINDS[kind].spec,
    status: z.unknown().optional(),
  });
}
const ENVELOPES = new Map<Kind, ReturnType<typeof envelope>>();

function fail(error: string, field: string): { ok: false } & ValidationError {
  return { ok: false, code: "TSMESH_ERR_INVALID_RESOURCE", error, field };
}

/**
 * Validates any user-supplied value as a resource of `expected` kind (or any kind when omitted),
 * applying schema defaults. One definition shared by API, CLI and sidecar.
 */
export function validateResource<K extends Kind>(input: unknown, expected?: K): Validated<K> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail("resource must be a JSON object", "");
  }
  const raw = input as Record<string, unknown>;
  const kind = raw.kind;
  if (typeof kind !== "string" || !(kind in KINDS)) {
    return fail(`kind must be one of ${Object.keys(KINDS).join(", ")}`, "kind");
  }
  if (expected !== undefined && kind !== expected) {
    return fail(`kind ${kind} does not belong here; expected ${expected}`, "kind");
  }
  let schema = ENVELOPES.get(kind as Kind);
  if (!schema) ENVELOPES.set(kind as Kind, (schema = envelope(kind as Kind)));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldPath(issue.path);
    return fail(field ? `${field}: ${issue.message}` : issue.message, field);
  }
  const { status: _status, ...resource } = parsed.data;
  return { ok: true, resource: resource as unknown as Resource<K> };
}
