// Istio/Envoy defaults when a route says nothing about retries: 2 retries on connect-failure,
// refused-stream, gRPC UNAVAILABLE and CANCELLED, and 503 (Istio's DefaultPolicy retryOn
// "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"); jittered
// exponential backoff from 25 ms capped at 250 ms.
import type { RetrySpec } from "../../../shared/schema/http-route.js";

const defaults: RetrySpec = {
  attempts: 2,
  retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
  retriableStatusCodes: [503],
  backoff: { base: "25ms", max: "250ms" },
};
export const DEFAULT_RETRY: Readonly<RetrySpec> = Object.freeze(defaults);

export const DEFAULT_BACKOFF_BASE_MS = 25;
export const DEFAULT_BACKOFF_MAX_MS = 250;
