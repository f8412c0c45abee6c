import { z } from "zod";
import { dnsName, duration, percent, regex, serviceRef } from "./common.js";

/** HTTP conditions, then gRPC ones (Envoy x-envoy-retry-grpc-on): a grpc-status in response headers. */
export const RETRY_ON = [
  "5xx", "gateway-error", "reset", "connect-failure", "retriable-status-codes", "refused-stream",
  "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
] as const;

const pathMatch = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Exact"), value: z.string().startsWith("/") }),
  z.strictObject({ type: z.literal("PathPrefix"), value: z.string().startsWith("/") }),
  z.strictObject({ type: z.literal("RegularExpression"), value: regex }),
]);

const headerMatch = z.strictObject({
  name: z.string().min(1).regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, "must be an HTTP header name"),
  type: z.enum(["Exact", "RegularExpression"]).default("Exact"),
  value: z.string(),
});

const match = z.strictObject({
  path: pathMatch.optional(),
  headers: z.array(headerMatch).optional(),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]).optional(),
});

const backend = z.strictObject({
  service: serviceRef,
  subset: dnsName.optional(),
  weight: z.number().int().min(0).max(1_000_000).default(1),
});

const retry = z.strictObject({
  attempts: z.number().int().min(0).max(10),
  perTryTimeout: duration.optional(),
  retryOn: z.array(z.enum(RETRY_ON)).optional(),
  retriableStatusCodes: z.array(z.number().int().min(100).max(599)).optional(),
  backoff: z.strictObject({ base: duration, max: duration }).optional(),
});

const fault = z.strictObject({
  delay: z.strictObject({ percent, duration }).optional(),
  abort: z.strictObject({ percent, status: z.number().int().min(200).max(599) }).optional(),
});

const rule = z
  .strictObject({
    matches: z.array(match).optional(),
    backends: z.array(backend).min(1),
    timeout: duration.optional(),
    retry: retry.optional(),
    fault: fault.optional(),
  })
  .refine((r) => r.backends.some((b) => b.weight > 0), {
    message: "at least one backend must have a weight above 0",
    path: ["backends"],
  });

export const httpRouteSpec = z.strictObject({
  /** Services this route serves: "reviews" (in the route's namespace) or "shop/reviews". */
  hosts: z.array(serviceRef).min(1),
  rules: z.array(rule).min(1),
});

export type HTTPRouteSpec = z.infer<typeof httpRouteSpec>;
export type RouteRule = HTTPRouteSpec["rules"][number];
export type RouteMatch = NonNullable<RouteRule["matches"]>[number];
export type RouteBackend = RouteRule["backends"][number];
export type RetrySpec = NonNullable<RouteRule["retry"]>;
export type FaultSpec = NonNullable<RouteRule["fault"]>;
export type RetryOn = (typeof RETRY_ON)[number];
