// Retry decision, pure (Envoy retry_state_impl / linkerd retry.rs): given the route's retry spec,
// which attempt just finished and how it ended, retry after a delay or stop. No I/O, no timers.
import { parseDuration } from "../../../shared/duration.js";
import type { RetryOn, RetrySpec } from "../../../shared/schema/http-route.js";
import { MeshError } from "../../core/handler.js";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_RETRY } from "./defaults.js";

export type Failure = NonNullable<MeshError["failure"]>;

export interface RetryPolicy {
  /** Retries after the first try (HTTPRoute retry.attempts). */
  maxRetries: number;
  retryOn: ReadonlySet<RetryOn>;
  retriableStatusCodes: ReadonlySet<number>;
  baseMs: number;
  maxMs: number;
  perTryTimeoutMs?: number;
}

/**
 * How one attempt ended: response headers arrived (with the grpc-status of a trailers-only gRPC
 * response), or no response (with the failure kind).
 */
export type AttemptOutcome = { kind: "response"; status: number; grpcStatus?: number } | { kind: "error"; failure?: Failure };

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "success" | "not-retriable" | "attempts-exhausted" };

const cache = new WeakMap<RetrySpec, RetryPolicy>();

/** The effective policy of a rule's retry spec; Istio defaults when the rule is silent (retryOn unset: default conditions). */
export function toRetryPolicy(spec: Readonly<RetrySpec> | undefined): RetryPolicy {
  const s = spec ?? DEFAULT_RETRY;
  const hit = cache.get(s);
  if (hit) return hit;
  const policy: RetryPolicy = {
    maxRetries: s.attempts,
    retryOn: new Set(s.retryOn ?? DEFAULT_RETRY.retryOn),
    retriableStatusCodes: new Set(s.retriableStatusCodes ?? []),
    baseMs: s.backoff ? parseDuration(s.backoff.base) : DEFAULT_BACKOFF_BASE_MS,
    maxMs: s.backoff ? parseDuration(s.backoff.max) : DEFAULT_BACKOFF_MAX_MS,
    perTryTimeoutMs: s.perTryTimeout ? parseDuration(s.perTryTimeout) : undefined,
  };
  cache.set(s, policy);
  return policy;
}

/** gRPC retry conditions and the status code each matches (Envoy retry_grpc_on). */
const GRPC_CONDITIONS: readonly (readonly [RetryOn, number])[] = [
  ["cancelled", 1],
  ["deadline-exceeded", 4],
  ["resource-exhausted", 8],
  ["internal", 13],
  ["unavailable", 14],
];

/** grpc-status of response headers: only a trailers-only response carries it there. */
export function grpcStatusOf(headers: Readonly<Record<string, string | string[]>>): number | undefined {
  const raw = headers["grpc-status"];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^\d{1,2}$/.test(value)) return undefined;
  return Number(value);
}

/** Failures with no response that count as a reset (Envoy: disconnect, reset, timeout, refused). */
const RESET_LIKE: ReadonlySet<Failure> = new Set(["connect-failure", "reset", "refused-stream", "timeout"]);

export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  const on = policy.retryOn;
  if (outcome.kind === "response") {
    const s = outcome.status;
    const g = outcome.grpcStatus;
    if (g !== undefined && g !== 0 && GRPC_CONDITIONS.some(([name, code]) => code === g && on.has(name))) return true;
    return (
      (on.has("5xx") && s >= 500 && s <= 599) ||
      (on.has("gateway-error") && (s === 502 || s === 503 || s === 504)) ||
      (on.has("retriable-status-codes") && policy.retriableStatusCodes.has(s))
    );
  }
  const f = outcome.failure;
  // Local overflow (circuit breaker) and unknown errors are never retried (Envoy does the same).
  if (f === undefined || f === "overflow") return false;
  if (on.has("5xx") || on.has("gateway-error") || on.has("reset")) return RESET_LIKE.has(f);
  // A per-try timeout answers 504 (Envoy), so listing 504 as retriable retries it.
  if (f === "timeout" && on.has("retriable-status-codes") && policy.retriableStatusCodes.has(504)) return true;
  return (on.has("connect-failure") && f === "connect-failure") || (on.has("refused-stream") && f === "refused-stream");
}

/**
 * Envoy's fully jittered exponential backoff: retry n (1-based) waits a uniform random time in
 * [0, min(max, base * (2^n - 1))): 0-25 ms, 0-75 ms, 0-175 ms... with the 25/250 ms defaults.
 */
export function backoffMs(policy: RetryPolicy, retryNumber: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * (2 ** retryNumber - 1));
  return Math.floor(random() * ceiling);
}

/** `retried`: policy retries already made for this request (0 after the first try). */
export function decide(policy: RetryPolicy, retried: number, outcome: AttemptOutcome, random: () => number = Math.random): RetryDecision {
  if (!isRetriable(policy, outcome)) {
    const ok = outcome.kind === "response" && outcome.status < 500 && !outcome.grpcStatus;
    return { retry: false, reason: ok ? "success" : "not-retriable" };
  }
  if (retried >= policy.maxRetries) return { retry: false, reason: "attempts-exhausted" };
  return { retry: true, delayMs: backoffMs(policy, retried + 1, random) };
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ERR_HTTP2_STREAM_ERROR", "ERR_STREAM_PREMATURE_CLOSE"]);

/** The failure kind of an attempt error: MeshError.failure, else a best guess from Node error codes. */
export function failureOf(err: unknown): Failure | undefined {
  if (err instanceof MeshError) return err.failure;
  const e = err as { code?: unknown; cause?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code && CONNECT_CODES.has(code)) return "connect-failure";
  if (typeof e?.message === "string" && e.message.includes("NGHTTP2_REFUSED_STREAM")) return "refused-stream";
  if (code && RESET_CODES.has(code)) return "reset";
  return e?.cause !== undefined && e.cause !== err ? failureOf(e.cause) : undefined;
}
