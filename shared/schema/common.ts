import { z } from "zod";
import { isDuration } from "../duration.js";

export const API_VERSION = "tsmesh.dev/v1";

// RFC 1123 label, as Kubernetes names services: also safe inside etcd keys and SPIFFE IDs.
export const dnsName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a lowercase RFC 1123 name (a-z, 0-9, '-')");

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

// A service: "reviews" (in the namespace of the resource that names it) or "shop/reviews".
export const serviceRef = z
  .string()
  .max(127)
  .regex(new RegExp(`^(${DNS_LABEL}/)?${DNS_LABEL}$`), "must be a service name, or namespace/name (lowercase RFC 1123 labels)")
  .refine((s) => s.split("/").every((label) => label.length <= 63), "each label must be at most 63 characters");

export const duration = z.string().refine(isDuration, "must be a duration such as 250ms, 2s, 1m");

export const percent = z.number().min(0).max(100);

export const positiveInt = z.number().int().positive();

export const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "must be a valid regular expression");

export const metadata = z.strictObject({
  name: dnsName,
  namespace: dnsName.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  /** etcd mod revision of the stored value; a stale one on PUT is a 409. */
  resourceVersion: z.string().regex(/^\d+$/, "must be a decimal etcd revision").optional(),
  /** Set by the server. */
  creationTimestamp: z.string().optional(),
  generation: z.number().int().optional(),
});

export type Metadata = z.infer<typeof metadata>;
