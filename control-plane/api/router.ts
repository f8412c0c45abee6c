// A tiny path router: patterns like "/api/v1/:plural/:name", matched segment by segment, first
// match wins (list specific paths before parameterised ones).
import type { IncomingMessage } from "node:http";
import type { Store } from "../store/index.js";

export interface ApiContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  store: Store;
}

export interface ApiResult {
  status: number;
  /** Serialised as JSON unless `text` is set. */
  body?: unknown;
  /** Pre-rendered body (e.g. Prometheus exposition), sent with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type ApiHandler = (ctx: ApiContext) => Promise<ApiResult>;

export interface RouteDef {
  pattern: string;
  /** Requires the admin bearer token. */
  auth: boolean;
  methods: Partial<Record<"GET" | "PUT" | "POST" | "DELETE", ApiHandler>>;
}

/** A malformed escape (e.g. "%E0%A4%A") matches nothing instead of throwing out of the request handler. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function matchRoute(routes: readonly RouteDef[], pathname: string): { route: RouteDef; params: Record<string, string> } | undefined {
  const parts = pathname.split("/").filter(Boolean);
  for (const route of routes) {
    const want = route.pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      if (w.startsWith(":")) {
        const value = decodeSegment(parts[i]!);
        if (value === undefined) return false;
        params[w.slice(1)] = value;
        return true;
      }
      return w === parts[i];
    });
    if (ok) return { route, params };
  }
  return undefined;
}
