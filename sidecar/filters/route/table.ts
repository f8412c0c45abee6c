// Route table: HTTPRoutes compiled once per config version (regexes pre-built), then matched per
// request. Precedence follows Gateway API: exact path > longest prefix > regex, then a method
// match, then more header matches; ties keep the order of routes and rules as given.
import { isIP } from "node:net";
import { DEFAULT_NAMESPACE } from "../../../shared/identity.js";
import type { HTTPRoute } from "../../../shared/schema/kinds.js";
import { namespaceOf, qualifyService, serviceKey } from "../../../shared/service-key.js";
import type { RouteMatch, RouteRule } from "../../../shared/schema/http-route.js";
import type { HeaderMap } from "../../core/handler.js";

interface HeaderTest {
  name: string;
  test: (value: string) => boolean;
}

interface CompiledMatch {
  route: string;
  ruleIndex: number;
  rule: RouteRule;
  pathRank: 0 | 1 | 2; // exact, prefix, regex
  prefixLength: number;
  matchesPath: (path: string) => boolean;
  method?: string;
  headers: HeaderTest[];
}

export interface RouteTable {
  /** Compiled matches per host service ("<namespace>/<service>"), most specific first. */
  readonly byHost: ReadonlyMap<string, readonly CompiledMatch[]>;
  /** The calling sidecar's namespace: where a host without one ("reviews") resolves. */
  readonly namespace: string;
}

export interface RouteQuery {
  /** Authority without port: "reviews", "reviews.default", "reviews.default.svc.cluster.local". */
  host: string;
  /** Path, possibly with a query string. */
  path: string;
  method: string;
  headers: HeaderMap;
}

export type RouteSelection =
  /** `logical` is a service key, "<namespace>/<service>" (an IP or external host as given). */
  /** A rule matched: `route` is "<HTTPRoute name>#<rule index>". */
  | { kind: "matched"; logical: string; route: string; rule: RouteRule }
  /** Routes name this host but none of their rules match the request (404 in Gateway API). */
  | { kind: "no-match"; logical: string }
  /** No route names this host: the host itself is the logical service. */
  | { kind: "passthrough"; logical: string };

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The service key a host names, Kubernetes DNS style: "reviews" -> "<namespace>/reviews" (the
 * caller's), "reviews.shop", "reviews.shop.svc" and "reviews.shop.svc.cluster.local" ->
 * "shop/reviews". IP literals and other names (example.com.au) stay as given: not mesh services.
 */
export function serviceOfHost(host: string, namespace: string = DEFAULT_NAMESPACE): string {
  const lower = host.toLowerCase();
  if (isIP(lower.replace(/^\[(.*)\]$/, "$1"))) return lower;
  const labels = lower.split(".");
  const [service, ns, svc] = labels;
  if (!labels.every((l) => LABEL.test(l))) return lower;
  if (labels.length === 1) return serviceKey(namespace, service!);
  if (labels.length === 2 || svc === "svc") return serviceKey(ns!, service!);
  return lower;
}

/** Gateway API prefix matching is per path element: "/foo" matches "/foo" and "/foo/bar", not "/foobar". */
function prefixTest(value: string): (path: string) => boolean {
  const prefix = value.length > 1 ? value.replace(/\/+$/, "") : value;
  if (prefix === "/") return () => true;
  return (path) => path === prefix || (path.startsWith(prefix) && path[prefix.length] === "/");
}

function compileMatch(route: string, ruleIndex: number, rule: RouteRule, match: RouteMatch): CompiledMatch {
  const path = match.path ?? { type: "PathPrefix" as const, value: "/" };
  const base = { route, ruleIndex, rule, method: match.method };
  const headers = (match.headers ?? []).map((h): HeaderTest => {
    if (h.type === "RegularExpression") {
      const re = new RegExp(`^(?:${h.value})$`);
      return { name: h.name.toLowerCase(), test: (v) => re.test(v) };
    }
    return { name: h.name.toLowerCase(), test: (v) => v === h.value };
  });
  if (path.type === "Exact") {
    const value = path.value;
    return { ...base, headers, pathRank: 0, prefixLength: value.length, matchesPath: (p) => p === value };
  }
  if (path.type === "PathPrefix") {
    return { ...base, headers, pathRank: 1, prefixLength: path.value.length, matchesPath: prefixTest(path.value) };
  }
  const re = new RegExp(`^(?:${path.value})$`);
  return { ...base, headers, pathRank: 2, prefixLength: 0, matchesPath: (p) => re.test(p) };
}

function precedence(a: CompiledMatch, b: CompiledMatch): number {
  return (
    a.pathRank - b.pathRank ||
    b.prefixLength - a.prefixLength ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length
  );
}

/** The rule with its backends' short service names resolved in `namespace`. */
function qualifyRule(rule: RouteRule, namespace: string): RouteRule {
  return { ...rule, backends: rule.backends.map((b) => ({ ...b, service: qualifyService(b.service, namespace) })) };
}

/**
 * Compiles routes for matching, for a sidecar in `namespace`; throws on an invalid regex (routes
 * are validated before this). A route's short host and backend names are in the route's namespace.
 */
export function buildRouteTable(routes: readonly HTTPRoute[], namespace: string = DEFAULT_NAMESPACE): RouteTable {
  const byHost = new Map<string, CompiledMatch[]>();
  for (const route of routes) {
    const ns = namespaceOf(route);
    const compiled = route.spec.rules.flatMap((raw, ruleIndex) => {
      const rule = qualifyRule(raw, ns);
      return (rule.matches?.length ? rule.matches : [{}]).map((m) => compileMatch(route.metadata.name, ruleIndex, rule, m));
    });
    for (const h of route.spec.hosts) {
      const host = qualifyService(h, ns);
      const list = byHost.get(host) ?? [];
      list.push(...compiled);
      byHost.set(host, list);
    }
  }
  // Array.prototype.sort is stable: equal precedence keeps route then rule order.
  for (const list of byHost.values()) list.sort(precedence);
  return { byHost, namespace };
}

function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function matches(m: CompiledMatch, path: string, method: string, headers: HeaderMap): boolean {
  if (m.method !== undefined && m.method !== method) return false;
  if (!m.matchesPath(path)) return false;
  for (const h of m.headers) {
    const v = headerValue(headers, h.name);
    if (v === undefined || !h.test(v)) return false;
  }
  return true;
}

export function selectRoute(table: RouteTable, query: RouteQuery): RouteSelection {
  const logical = serviceOfHost(query.host, table.namespace);
  const list = table.byHost.get(logical);
  if (!list) return { kind: "passthrough", logical };
  const q = query.path.indexOf("?");
  const path = q === -1 ? query.path : query.path.slice(0, q);
  const method = query.method.toUpperCase();
  for (const m of list) {
    if (matches(m, path, method, query.headers)) {
      return { kind: "matched", logical, route: `${m.route}#${m.ruleIndex}`, rule: m.rule };
    }
  }
  return { kind: "no-match", logical };
}
