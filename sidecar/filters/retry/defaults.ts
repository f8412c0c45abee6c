// Istio 1.24+ defaults when a route says nothing about retries: 2 retries on connect-failure,
// refused-stream, gRPC UNAVAILABLE and CANCELLED (trailers-only), jittered exponential backoff
// from 25 ms capped at 250 ms. A 503 the app returned is not retried (Istio
// EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, istio#50506): the app may have acted on the request.
// Mesh-generated failures are decided by their kind, not their status: a refused stream (503)
// is retried; no endpoints and breaker overflow are not (nothing to retry on, or more load on
// a destination that is already full).
import type { RetrySpec } from "../../../shared/schema/http-route.js";

const defaults: RetrySpec = {
  attempts: 2,
  retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled"],
  backoff: { base: "25ms", max: "250ms" },
};
export const DEFAULT_RETRY: Readonly<RetrySpec> = Object.freeze(defaults);

export const DEFAULT_BACKOFF_BASE_MS = 25;
export const DEFAULT_BACKOFF_MAX_MS = 250;
