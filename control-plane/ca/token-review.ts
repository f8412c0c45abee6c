// Kubernetes ServiceAccount tokens as first-certificate proof: the sidecar presents its projected
// token (audience "tsmesh"); the CA asks the API server (TokenReview) who it belongs to and
// issues spiffe://<td>/ns/<namespace>/sa/<serviceaccount>. Only when the control plane runs in
// the cluster (`tsmesh control-plane --kube-token-review`).
import { readFileSync } from "node:fs";
import https from "node:https";
import { SA_TOKEN_AUDIENCE } from "../../shared/inject/constants.js";
import { CaError } from "./errors.js";

/** The audience the injector projects the pod's token for (shared/inject), so it is the one accepted here. */
export const TOKEN_AUDIENCE = SA_TOKEN_AUDIENCE;
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const USERNAME = /^system:serviceaccount:([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?):([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface ReviewedServiceAccount {
  namespace: string;
  serviceAccount: string;
}

export interface TokenReviewer {
  /** Who the token belongs to; CaError TSMESH_ERR_TOKEN_INVALID when the API server says nobody. */
  review(token: string): Promise<ReviewedServiceAccount>;
}

export interface KubeTokenReviewerOptions {
  /** https://host:port of the API server. */
  apiServer: string;
  /** CA that signed the API server's certificate (PEM). */
  caPem: string;
  /** The control plane's own bearer token; a function because projected tokens are rotated on disk. */
  bearer: () => string;
  audience?: string;
  timeoutMs?: number;
}

/** A JWT's shape (three base64url parts): how a ServiceAccount token is told from a bootstrap token. */
export const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

function post(opts: KubeTokenReviewerOptions, body: string): Promise<{ status: number; text: string }> {
  const url = new URL("/apis/authentication.k8s.io/v1/tokenreviews", opts.apiServer);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: "POST",
        ca: opts.caPem,
        headers: { authorization: `Bearer ${opts.bearer()}`, "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) },
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
          if (text.length > MAX_RESPONSE_BYTES) req.destroy(new Error("TokenReview response too large"));
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("TokenReview timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

export function kubeTokenReviewer(opts: KubeTokenReviewerOptions): TokenReviewer {
  const audience = opts.audience ?? TOKEN_AUDIENCE;
  return {
    async review(token) {
      const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [audience] } });
      let res: { status: number; text: string };
      try {
        res = await post(opts, body);
      } catch (err) {
        throw new CaError("TSMESH_ERR_TOKEN_REVIEW_UNAVAILABLE", `Kubernetes TokenReview failed: ${(err as Error).message}`);
      }
      // 401/403 here mean the control plane's own credentials or RBAC are wrong, not the sidecar's token.
      if (res.status !== 201 && res.status !== 200) throw new CaError("TSMESH_ERR_TOKEN_REVIEW_UNAVAILABLE", `Kubernetes TokenReview answered HTTP ${res.status}`);
      let status: { authenticated?: unknown; user?: { username?: unknown }; audiences?: unknown; error?: unknown } | undefined;
      try {
        status = (JSON.parse(res.text) as { status?: typeof status }).status;
      } catch {
        throw new CaError("TSMESH_ERR_TOKEN_REVIEW_UNAVAILABLE", "Kubernetes TokenReview answered with malformed JSON");
      }
      if (status?.authenticated !== true) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "ServiceAccount token not accepted by the Kubernetes API server");
      // The API server lists the audiences the token is valid for among those asked: ours must be there.
      if (!Array.isArray(status.audiences) || !status.audiences.includes(audience)) throw new CaError("TSMESH_ERR_TOKEN_INVALID", `ServiceAccount token is not for audience "${audience}"`);
      const m = USERNAME.exec(String(status.user?.username ?? ""));
      if (!m) throw new CaError("TSMESH_ERR_TOKEN_INVALID", "token does not belong to a ServiceAccount");
      return { namespace: m[1]!, serviceAccount: m[3]! };
    },
  };
}

/** From the pod's environment: API server address, its CA and our own token. Throws outside a cluster. */
export function inClusterTokenReviewer(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): TokenReviewer {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT || "443";
  if (!host) throw new Error("--kube-token-review: not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset)");
  let caPem: string;
  try {
    caPem = readFileSync(`${saDir}/ca.crt`, "utf8");
    readFileSync(`${saDir}/token`, "utf8");
  } catch (err) {
    throw new Error(`--kube-token-review: no ServiceAccount credentials in ${saDir}: ${(err as Error).message}`);
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return kubeTokenReviewer({ apiServer: `https://${hostPart}:${port}`, caPem, bearer: () => readFileSync(`${saDir}/token`, "utf8").trim() });
}
