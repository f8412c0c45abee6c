// The CA as a control-plane gRPC plugin: loads issuer + bundle from the CA directory (every
// replica reads the same files; the issuer key is never put in etcd), provides the gRPC port's
// TLS credentials and registers Certificates.Sign. The directory is re-read periodically so a
// new anchor added to bundle.crt / bundle.d/ is served without a restart.
import fs from "node:fs/promises";
import path from "node:path";
import { DEFAULT_TRUST_DOMAIN } from "../../shared/identity.js";
import { parseDuration } from "../../shared/duration.js";
import { createControlPlaneMetrics } from "../../shared/metrics/index.js";
import type { ControlPlaneContext, GrpcPlugin } from "../plugins.js";
import { CA_FILES, caDirFor, initCaDir, keepPreviousIssuers, loadCaMaterial, type CaMaterial } from "./files.js";
import { registerCertificates } from "./grpc.js";
import type { TokenReviewer } from "./token-review.js";
import { createCaServerCredentials, type CaServerCredentials } from "./server-credentials.js";
import { DEFAULT_CERT_TTL_MS } from "./signer.js";

export interface CaPluginOptions {
  /** CA directory; default $TSMESH_CA_DIR or <dataDir>/certs. */
  dir?: string;
  /** Trust bundle file or directory; default bundle.crt + bundle.d/ in `dir`. */
  bundle?: string;
  /** Default $TSMESH_TRUST_DOMAIN or cluster.local. */
  trustDomain?: string;
  /** Default $TSMESH_CERT_TTL or 24h. */
  defaultTtlMs?: number;
  /** Default $TSMESH_CERT_MAX_TTL or 24h. */
  maxTtlMs?: number;
  /** Extra DNS SANs of the serving certificate; default $TSMESH_CA_DNS_NAMES (comma-separated). */
  dnsNames?: string[];
  /** Create a development CA in `dir` when it has none; default true unless $TSMESH_CA_NO_INIT=1. */
  initIfMissing?: boolean;
  /** How often the directory is re-read; default 30 s. */
  reloadMs?: number;
  /** Accept Kubernetes ServiceAccount tokens for first certificates (--kube-token-review). */
  tokenReviewer?: TokenReviewer;
}

const env = (name: string): string | undefined => process.env[name] || undefined;
const envDuration = (name: string): number | undefined => (env(name) ? parseDuration(env(name)!) : undefined);

// Per running control plane: its current anchors, for other plugins (config push sends the
// bundle with every snapshot). Keyed by the context object, so replicas in one process differ.
const bundles = new WeakMap<ControlPlaneContext, () => string[]>();

/** The trust bundle the CA of this control plane currently serves, once the CA plugin registered. */
export function trustBundleFor(ctx: ControlPlaneContext): string[] | undefined {
  return bundles.get(ctx)?.();
}

interface State {
  material?: CaMaterial;
  creds?: CaServerCredentials;
  reloadTimer?: NodeJS.Timeout;
}

export function caPlugin(opts: CaPluginOptions = {}): GrpcPlugin {
  // One plugin object may serve several control planes in one process (tests run replicas
  // side by side), so state is kept per control-plane context.
  const states = new Map<ControlPlaneContext, State>();
  const stateOf = (ctx: ControlPlaneContext): State => {
    let st = states.get(ctx);
    if (!st) states.set(ctx, (st = {}));
    return st;
  };
  const trustDomain = opts.trustDomain ?? env("TSMESH_TRUST_DOMAIN") ?? DEFAULT_TRUST_DOMAIN;
  const dirOf = (ctx: ControlPlaneContext) => caDirFor(ctx.dataDir, opts.dir);

  const load = async (ctx: ControlPlaneContext): Promise<State & { material: CaMaterial }> => {
    const st = stateOf(ctx);
    if (!st.material) {
      const dir = dirOf(ctx);
      const hasIssuer = await fs.access(path.join(dir, CA_FILES.issuerKey)).then(() => true, () => false);
      if (!hasIssuer && (opts.initIfMissing ?? env("TSMESH_CA_NO_INIT") !== "1")) {
        await initCaDir(dir, { trustDomain });
        ctx.log.warn("created a development CA (run `tsmesh certs init` and mount it for production)", { dir });
      }
      st.material = await loadCaMaterial(dir, opts.bundle);
    }
    return st as State & { material: CaMaterial };
  };

  const reload = async (ctx: ControlPlaneContext, st: State) => {
    try {
      const next = await loadCaMaterial(dirOf(ctx), opts.bundle);
      const same = next.issuer.certPem === st.material?.issuer.certPem && next.bundle.join("") === st.material?.bundle.join("");
      if (same) return;
      st.material = keepPreviousIssuers(next, st.material);
      st.creds?.refresh();
      ctx.log.info("CA material reloaded", { anchors: next.bundle.length });
    } catch (err) {
      ctx.log.error("CA reload failed; keeping the previous issuer and bundle", { err: err as Error });
    }
  };

  return {
    name: "ca",
    async credentials(ctx) {
      const st = await load(ctx);
      const dnsNames = opts.dnsNames ?? (env("TSMESH_CA_DNS_NAMES")?.split(",").map((s) => s.trim()).filter(Boolean) ?? []);
      st.creds = createCaServerCredentials({ material: () => st.material!, trustDomain, dnsNames });
      return st.creds.credentials;
    },
    async register(server, ctx) {
      const st = await load(ctx);
      const defaultTtlMs = opts.defaultTtlMs ?? envDuration("TSMESH_CERT_TTL") ?? DEFAULT_CERT_TTL_MS;
      registerCertificates(server, {
        etcd: ctx.store.etcd,
        material: () => st.material!,
        trustDomain,
        defaultTtlMs,
        maxTtlMs: Math.max(defaultTtlMs, opts.maxTtlMs ?? envDuration("TSMESH_CERT_MAX_TTL") ?? DEFAULT_CERT_TTL_MS),
        log: ctx.log.child({ component: "ca" }),
        certsIssued: createControlPlaneMetrics(ctx.metrics).certsIssued,
        tokenReviewer: opts.tokenReviewer,
      });
      bundles.set(ctx, () => st.material!.bundle);
      st.reloadTimer = setInterval(() => void reload(ctx, st), opts.reloadMs ?? 30_000);
      st.reloadTimer.unref();
    },
    close() {
      // close() carries no context: stop everything this plugin object started.
      for (const st of states.values()) {
        if (st.reloadTimer) clearInterval(st.reloadTimer);
        st.creds?.close();
      }
      states.clear();
    },
  };
}

