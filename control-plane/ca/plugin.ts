// The CA as a control-plane gRPC plugin: loads issuer + bundle from the CA directory (every
// replica reads the same files; the issuer key is never put in etcd), provides the gRPC port's
// TLS credentials and registers Certificates.Sign. The directory is re-read periodically so a
// new anchor added to bundle.crt / bundle.d/ is served without a restart. The material is kept
// in the plugin context (ctx.ca), where config push reads it.
import fs from "node:fs/promises";
import path from "node:path";
import { parseDuration } from "../../shared/duration.js";
import { createControlPlaneMetrics } from "../../shared/metrics/index.js";
import type { ControlPlaneContext, GrpcPlugin } from "../plugins.js";
import { CA_FILES, caDirFor, initCaDir, keepPreviousIssuers, loadCaMaterial } from "./files.js";
import { registerCertificates } from "./grpc.js";
import type { TokenReviewer } from "./token-review.js";
import { createCaServerCredentials, type CaServerCredentials } from "./server-credentials.js";
import { meshWorkloadTtlMs } from "./mesh-ttl.js";
import { DEFAULT_CERT_TTL_MS } from "./signer.js";

export interface CaPluginOptions {
  /** CA directory; default $TSMESH_CA_DIR or <dataDir>/certs. */
  dir?: string;
  /** Trust bundle file or directory; default bundle.crt + bundle.d/ in `dir`. */
  bundle?: string;
  /** Default the control plane's (ctx.trustDomain: $TSMESH_TRUST_DOMAIN or cluster.local). */
  trustDomain?: string;
  /**
   * Workload certificate lifetime (`--cert-ttl`, whose default is $TSMESH_CERT_TTL); default 24h.
   * MeshConfig spec.certificates.workloadTTL wins over it. Not range-checked here (tests use
   * seconds); the CLI flag and MeshConfig are (shared/workload-ttl.ts).
   */
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

interface State {
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
  const trustDomainOf = (ctx: ControlPlaneContext) => opts.trustDomain ?? ctx.trustDomain;
  const dirOf = (ctx: ControlPlaneContext) => caDirFor(ctx.dataDir, opts.dir);

  const load = async (ctx: ControlPlaneContext): Promise<State> => {
    const st = stateOf(ctx);
    if (!ctx.ca.ready) {
      const dir = dirOf(ctx);
      const hasIssuer = await fs.access(path.join(dir, CA_FILES.issuerKey)).then(() => true, () => false);
      if (!hasIssuer && (opts.initIfMissing ?? env("TSMESH_CA_NO_INIT") !== "1")) {
        await initCaDir(dir, { trustDomain: trustDomainOf(ctx) });
        ctx.log.warn("created a development CA (run `tsmesh certs init` and mount it for production)", { dir });
      }
      ctx.ca.set(await loadCaMaterial(dir, opts.bundle));
    }
    return st;
  };

  const reload = async (ctx: ControlPlaneContext, st: State) => {
    try {
      const next = await loadCaMaterial(dirOf(ctx), opts.bundle);
      const prev = ctx.ca.current();
      const same = next.issuer.certPem === prev.issuer.certPem && next.bundle.join("") === prev.bundle.join("");
      if (same) return;
      ctx.ca.set(keepPreviousIssuers(next, prev));
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
      st.creds = createCaServerCredentials({ material: () => ctx.ca.current(), trustDomain: trustDomainOf(ctx), dnsNames });
      return st.creds.credentials;
    },
    async register(server, ctx) {
      const st = await load(ctx);
      const defaultTtlMs = opts.defaultTtlMs ?? DEFAULT_CERT_TTL_MS;
      const caLog = ctx.log.child({ component: "ca" });
      registerCertificates(server, {
        etcd: ctx.store.etcd,
        material: () => ctx.ca.current(),
        trustDomain: trustDomainOf(ctx),
        defaultTtlMs,
        maxTtlMs: Math.max(defaultTtlMs, opts.maxTtlMs ?? envDuration("TSMESH_CERT_MAX_TTL") ?? DEFAULT_CERT_TTL_MS),
        meshTtlMs: () => meshWorkloadTtlMs(ctx.store.etcd, caLog),
        log: caLog,
        certsIssued: createControlPlaneMetrics(ctx.metrics).certsIssued,
        tokenReviewer: opts.tokenReviewer,
      });
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

