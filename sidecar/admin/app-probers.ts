// The app's own probes that injection moved to the admin port (shared/inject/probes.ts), parsed
// from TSMESH_APP_PROBERS / --app-probers and checked once at start: a malformed value is a
// start-up error naming the entry, never a probe that silently always fails.
import type { AppProber, AppProbers } from "../../shared/inject/probes.js";

export type { AppProber, AppProbers };

export class AppProbersError extends Error {
  readonly code = "TSMESH_ERR_APP_PROBERS";
  constructor(message: string) {
    super(`app probers (--app-probers or TSMESH_APP_PROBERS): ${message}; re-inject the pod (tsmesh inject) to regenerate them`);
    this.name = "AppProbersError";
  }
}

const PATH = /^\/app-health\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(readyz|livez|startupz)$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0 && v < 65536;

function checkOne(path: string, v: unknown): AppProber {
  if (!PATH.test(path)) throw new AppProbersError(`${JSON.stringify(path)} is not /app-health/<container>/<readyz|livez|startupz>`);
  if (!isObj(v)) throw new AppProbersError(`${path}: expected an object`);
  const timeoutSeconds = v.timeoutSeconds ?? 1;
  if (typeof timeoutSeconds !== "number" || !(timeoutSeconds > 0)) throw new AppProbersError(`${path}: timeoutSeconds must be a positive number`);
  const handlers = (["httpGet", "tcpSocket", "grpc"] as const).filter((k) => v[k] !== undefined);
  if (handlers.length !== 1) throw new AppProbersError(`${path}: expected exactly one of httpGet, tcpSocket, grpc`);
  const h = v[handlers[0]!];
  if (!isObj(h) || !isPort(h.port)) throw new AppProbersError(`${path}: ${handlers[0]}.port must be a port number`);
  if (handlers[0] === "tcpSocket") return { tcpSocket: { port: h.port }, timeoutSeconds };
  if (handlers[0] === "grpc") {
    if (h.service !== undefined && typeof h.service !== "string") throw new AppProbersError(`${path}: grpc.service must be a string`);
    return { grpc: { port: h.port, ...(h.service ? { service: h.service } : {}) }, timeoutSeconds };
  }
  const p = h.path ?? "/";
  if (typeof p !== "string" || !p.startsWith("/")) throw new AppProbersError(`${path}: httpGet.path must start with /`);
  const scheme = h.scheme ?? "HTTP";
  if (scheme !== "HTTP" && scheme !== "HTTPS") throw new AppProbersError(`${path}: httpGet.scheme must be HTTP or HTTPS`);
  const headers = h.httpHeaders ?? [];
  if (!Array.isArray(headers) || !headers.every((x) => isObj(x) && typeof x.name === "string" && x.name && typeof x.value === "string")) {
    throw new AppProbersError(`${path}: httpGet.httpHeaders must be [{name, value}] strings`);
  }
  const httpHeaders = headers as { name: string; value: string }[];
  return { httpGet: { path: p, port: h.port, scheme, ...(httpHeaders.length ? { httpHeaders } : {}) }, timeoutSeconds };
}

/** Parses the JSON (undefined or empty: no probers). */
export function parseAppProbers(json: string | undefined): Map<string, AppProber> {
  const out = new Map<string, AppProber>();
  if (json === undefined || json.trim() === "") return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new AppProbersError(`not JSON (${(err as Error).message})`);
  }
  if (!isObj(parsed)) throw new AppProbersError("expected a JSON object keyed by /app-health/<container>/<probe>");
  for (const [path, v] of Object.entries(parsed as AppProbers)) out.set(path, checkOne(path, v));
  return out;
}
