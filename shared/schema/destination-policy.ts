import { z } from "zod";
import { dnsName, duration, percent, positiveInt, serviceRef } from "./common.js";

const subset = z.strictObject({
  name: dnsName,
  labels: z.record(z.string(), z.string()),
});

export const destinationPolicySpec = z.strictObject({
  service: serviceRef,
  loadBalancer: z.enum(["round-robin", "least-request"]).default("round-robin"),
  subsets: z.array(subset).optional(),
  connectionPool: z
    .strictObject({
      maxConnections: positiveInt.optional(),
      maxPendingRequests: positiveInt.optional(),
      maxRequests: positiveInt.optional(),
      maxRetries: positiveInt.optional(),
    })
    .optional(),
  outlierDetection: z
    .strictObject({
      consecutive5xx: positiveInt.default(5),
      interval: duration.default("10s"),
      baseEjectionTime: duration.default("30s"),
      maxEjectionPercent: percent.default(10),
    })
    .optional(),
  retryBudget: z
    .strictObject({
      percent: percent.default(20),
      minRetriesPerSecond: z.number().int().min(0).default(10),
    })
    .optional(),
});

export type DestinationPolicySpec = z.infer<typeof destinationPolicySpec>;
