// POST /api/v1/tokens: one-time bootstrap token for a service's first certificate. The plaintext
// is in this response only; etcd keeps its hash (see store/tokens.ts).
import { z } from "zod";
import { parseDuration } from "../../../shared/duration.js";
import { dnsName, duration } from "../../../shared/schema/common.js";
import { fieldPath } from "../../../shared/schema/validate.js";
import { readJson } from "../body.js";
import { badRequest } from "../errors.js";
import type { ApiContext, ApiResult } from "../router.js";

const MAX_TTL_MS = 7 * 24 * 3_600_000;

const tokenRequest = z.strictObject({
  service: dnsName,
  ttl: duration.default("1h"),
  namespace: dnsName.optional(),
});

export async function createToken(ctx: ApiContext): Promise<ApiResult> {
  const parsed = tokenRequest.safeParse(await readJson(ctx.req));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldPath(issue.path);
    throw badRequest(field ? `${field}: ${issue.message}` : issue.message, field);
  }
  const ttlMs = parseDuration(parsed.data.ttl);
  if (ttlMs < 1000 || ttlMs > MAX_TTL_MS) throw badRequest("ttl must be between 1s and 168h", "ttl");
  const t = await ctx.store.createBootstrapToken({ service: parsed.data.service, namespace: parsed.data.namespace, ttlMs });
  return { status: 201, body: { token: t.token, service: t.service, namespace: t.namespace, expiresAt: t.expiresAt } };
}
