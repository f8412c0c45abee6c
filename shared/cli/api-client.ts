// How CLI commands talk to the control-plane REST API: base URL from TSMESH_API, the admin token
// from TSMESH_TOKEN or ./.tsmesh/admin-token, and API errors turned into one readable line.
import { readFileSync } from "node:fs";

export const DEFAULT_API = "http://127.0.0.1:15000";

export class CliError extends Error {}

function adminToken(): string | undefined {
  if (process.env.TSMESH_TOKEN) return process.env.TSMESH_TOKEN;
  try {
    return readFileSync(".tsmesh/admin-token", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface ApiReply {
  status: number;
  body: Record<string, unknown>;
}

/** Sends one request; throws CliError for transport failures and non-2xx answers (except `allow`). */
export async function api(method: string, path: string, body?: unknown, allow: number[] = []): Promise<ApiReply> {
  const base = (process.env.TSMESH_API ?? DEFAULT_API).replace(/\/+$/, "");
  const token = adminToken();
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    // undici hides the socket error in `cause` (an AggregateError when several addresses failed).
    const c = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
    throw new CliError(`cannot reach the control plane at ${base} (${cause}); set TSMESH_API`);
  }
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { error: text.trim() };
  }
  if (res.ok || allow.includes(res.status)) return { status: res.status, body: parsed };
  const field = typeof parsed.field === "string" && parsed.field ? ` (field ${parsed.field})` : "";
  const hint = res.status === 401 ? "; set TSMESH_TOKEN or run where .tsmesh/admin-token is" : "";
  throw new CliError(`${res.status}: ${String(parsed.error ?? "request failed")}${field}${hint}`);
}

/** Runs a command action, printing CliErrors as `error: ...` with exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}
