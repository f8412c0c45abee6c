// Authorization decision, pure (Istio AuthorizationPolicy semantics): allowed unless a policy
// selects the service; DENY policies are evaluated first; then, if any ALLOW policy exists, some
// ALLOW rule must match. Within a rule every field given must match (from, paths, methods);
// within a field any listed value may.
import type { AuthorizationPolicy } from "../../../shared/schema/kinds.js";
import type { AuthorizationRule } from "../../../shared/schema/authorization-policy.js";
import { DEFAULT_NAMESPACE } from "../../../shared/identity.js";
import { namespaceOf, qualifyService, serviceKey } from "../../../shared/service-key.js";

export interface AuthzRequest {
  /** The service being called (this sidecar's). */
  service: string;
  /** Its namespace; default "default". */
  namespace?: string;
  /** Verified SPIFFE ID of the peer; undefined for plaintext (PERMISSIVE) callers. */
  peerIdentity?: string;
  /** Service part of the peer's SPIFFE ID. */
  peerService?: string;
  /** Namespace part of the peer's SPIFFE ID. */
  peerNamespace?: string;
  method: string;
  /** Path (and query) as the listener normalised it: the path the app receives is the one judged. */
  path: string;
}

export interface AuthzDecision {
  allowed: boolean;
  reason: string;
}

/** Istio path patterns: exact, "prefix*", "*suffix", or "*". */
function pathMatches(pattern: string, path: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return path.endsWith(pattern.slice(1));
  return path === pattern;
}

/**
 * `policyNamespace` is where the rule's short service names resolve: from.services ["a"] admits
 * only the service a of the policy's own namespace, never an "a" of another namespace.
 */
export function ruleMatches(rule: AuthorizationRule, req: AuthzRequest & { path: string }, policyNamespace: string = DEFAULT_NAMESPACE): boolean {
  const from = rule.from;
  if (from?.identities && !(req.peerIdentity !== undefined && from.identities.includes(req.peerIdentity))) return false;
  if (from?.services || from?.namespaces) {
    if (req.peerService === undefined || req.peerNamespace === undefined) return false;
    const peer = serviceKey(req.peerNamespace, req.peerService);
    if (from.services && !from.services.some((s) => qualifyService(s, policyNamespace) === peer)) return false;
    if (from.namespaces && !from.namespaces.includes(req.peerNamespace)) return false;
  }
  if (rule.paths && !rule.paths.some((p) => pathMatches(p, req.path))) return false;
  if (rule.methods && !rule.methods.includes(req.method.toUpperCase())) return false;
  return true;
}

function firstMatch(policies: readonly AuthorizationPolicy[], req: AuthzRequest): string | undefined {
  for (const p of policies) {
    const i = p.spec.rules.findIndex((r) => ruleMatches(r, req, namespaceOf(p)));
    if (i !== -1) return `policy "${p.metadata.name}" rule ${i}`;
  }
  return undefined;
}

export function authorize(policies: readonly AuthorizationPolicy[], request: AuthzRequest): AuthzDecision {
  const own = serviceKey(request.namespace ?? DEFAULT_NAMESPACE, request.service);
  const selected = policies.filter((p) => qualifyService(p.spec.service, namespaceOf(p)) === own);
  if (selected.length === 0) return { allowed: true, reason: `no authorization policy selects "${own}"` };
  const q = request.path.indexOf("?");
  const req = q === -1 ? request : { ...request, path: request.path.slice(0, q) };
  const who = req.peerIdentity ?? "an unauthenticated peer";
  const denied = firstMatch(selected.filter((p) => p.spec.action === "DENY"), req);
  if (denied) return { allowed: false, reason: `${req.method} ${req.path} from ${who} is denied by ${denied}` };
  const allows = selected.filter((p) => p.spec.action !== "DENY");
  if (allows.length === 0) return { allowed: true, reason: "no DENY rule matches and no ALLOW policy applies" };
  const allowed = firstMatch(allows, req);
  if (allowed) return { allowed: true, reason: `allowed by ${allowed}` };
  const names = allows.map((p) => `"${p.metadata.name}"`).join(", ");
  return { allowed: false, reason: `${req.method} ${req.path} from ${who} matches no ALLOW rule of ${names}` };
}
