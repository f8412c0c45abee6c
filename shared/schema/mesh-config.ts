import { z } from "zod";
import { WORKLOAD_TTL_RULE, isWorkloadTtl } from "../workload-ttl.js";

export const meshConfigSpec = z.strictObject({
  trustDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "must be a lowercase DNS-like trust domain")
    .default("cluster.local"),
  mtls: z.enum(["STRICT", "PERMISSIVE"]).default("STRICT"),
  tracing: z
    .strictObject({
      /** Parent-based ratio sampler: 0..1 of root traces are sampled. */
      sampling: z.number().min(0).max(1).default(0.01),
      otlpEndpoint: z.url().optional(),
    })
    .optional(),
  /** Absent: access log off (Istio/Linkerd default); writing the block turns it on. */
  accessLog: z.strictObject({ enabled: z.boolean().default(true) }).optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /**
   * Requests for hosts that are not mesh services (Istio's field): ALLOW_ANY (the default) sends
   * them to the host the app named, REGISTRY_ONLY refuses them with 502.
   */
  outboundTrafficPolicy: z.strictObject({ mode: z.enum(["ALLOW_ANY", "REGISTRY_ONLY"]).default("ALLOW_ANY") }).optional(),
  /**
   * Request paths are always normalised at the sidecar edge (dot segments, unreserved escapes,
   * merged slashes). escapedSlashes (Envoy's path_with_escaped_slashes_action): REJECT (the
   * default) answers 400 to a path with %2F or %5C; KEEP forwards them still encoded.
   */
  pathNormalization: z.strictObject({ escapedSlashes: z.enum(["REJECT", "KEEP"]).default("REJECT") }).optional(),
  /** Absent: the control plane's --cert-ttl (default 24h). Set, it wins over the flag on every replica. */
  certificates: z.strictObject({ workloadTTL: z.string().refine(isWorkloadTtl, WORKLOAD_TTL_RULE).optional() }).optional(),
});

export type MeshConfigSpec = z.infer<typeof meshConfigSpec>;
