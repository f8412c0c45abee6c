import { z } from "zod";
import { dnsName, serviceRef } from "./common.js";

const spiffeId = z.string().regex(/^spiffe:\/\/[^/]+\/.+$/, "must be a SPIFFE ID (spiffe://domain/path)");

const rule = z.strictObject({
  from: z
    .strictObject({
      identities: z.array(spiffeId).optional(),
      /** "a" is the service a in the policy's namespace; "shop/a" names the namespace. */
      services: z.array(serviceRef).optional(),
      /** Any service of these namespaces. */
      namespaces: z.array(dnsName).optional(),
    })
    .optional(),
  /** Exact paths, or prefixes ending in "*" as in Istio. */
  paths: z.array(z.string().startsWith("/")).optional(),
  methods: z.array(z.string().regex(/^[A-Z]+$/, "must be an upper-case HTTP method")).optional(),
});

export const authorizationPolicySpec = z.strictObject({
  service: serviceRef,
  /** ALLOW: only requests matching a rule pass. DENY: requests matching a rule are refused. */
  action: z.enum(["ALLOW", "DENY"]).default("ALLOW"),
  rules: z.array(rule),
});

export type AuthorizationPolicySpec = z.infer<typeof authorizationPolicySpec>;
export type AuthorizationRule = AuthorizationPolicySpec["rules"][number];
