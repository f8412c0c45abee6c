// The sidecar's workload identity: key + CSR -> certificate from the control plane (bootstrap token
// first, then renewal over mTLS with the current certificate), renewed at ~2/3 of its lifetime.
// The old certificate keeps serving until a new one arrives; listeners swap their TLS context on
// the "rotate" event.
import { EventEmitter } from "node:events";
import { Gauge, type Registry } from "prom-client";
import { DEFAULT_NAMESPACE, DEFAULT_TRUST_DOMAIN, spiffeId } from "../../shared/identity.js";
import type { Logger } from "../../shared/log.js";
import { status } from "@grpc/grpc-js";
import { createCsr, generateKeyPairAsync, normalizeBundle, splitPemCerts } from "../../shared/pki/index.js";
import { loadIdentityCache, saveIdentityCache } from "./cert-cache.js";
import { callSign } from "./client.js";
import { backoffMs, renewAt } from "./schedule.js";

export const CERT_EXPIRY_METRIC = "tsmesh_cert_expiry_seconds";

export interface IdentityState {
  spiffeId: string;
  keyPem: string;
  /** Leaf only. */
  certPem: string;
  /** Leaf + issuer: what to present as TLS `cert`. */
  chainPem: string;
  /** Trust anchors to verify peers with. */
  trustBundlePem: string[];
  serial: string;
  notAfter: Date;
}

export interface IdentityOptions {
  service: string;
  namespace?: string;
  trustDomain?: string;
  /** host:port of the control plane's gRPC port. */
  controlPlane: string;
  /** Anchors trusted for the first connection to the control plane (e.g. certs/bundle.crt). */
  trustBundlePem: string[];
  /** One-time bootstrap token for the first certificate. */
  token?: string;
  /** Requested lifetime; 0/undefined = the CA's default. */
  ttlSeconds?: number;
  /** Metrics registry for tsmesh_cert_expiry_seconds. */
  registry?: Registry;
  log?: Logger;
  /** Fraction of the lifetime by which renewal may come earlier than 2/3; default 0.05. */
  jitter?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long start() keeps retrying while the control plane is unreachable; default 30 s. */
  startTimeoutMs?: number;
  /**
   * Directory (0700) where every new certificate + key is kept (0600); start() uses a still-valid
   * one from there instead of the token, so a restart needs no control plane. Unset: no cache.
   */
  cacheDir?: string;
}

// The control plane is not (yet) reachable: worth retrying. Anything else (refused token,
// identity mismatch, bad CSR) will not get better by asking again.
const TRANSIENT = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);
const isTransient = (err: unknown): boolean => TRANSIENT.has((err as { code?: number }).code ?? -1);

export interface IdentityEvents {
  rotate: [IdentityState];
  error: [Error];
}

export class WorkloadIdentity extends EventEmitter<IdentityEvents> {
  readonly spiffeId: string;
  private state: IdentityState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private readonly gauge: Gauge | undefined;
  private gaugeTimer: NodeJS.Timeout | undefined;
  private readonly initialBundle: string[];

  constructor(private readonly opts: IdentityOptions) {
    super();
    this.spiffeId = spiffeId({
      trustDomain: opts.trustDomain ?? DEFAULT_TRUST_DOMAIN,
      namespace: opts.namespace ?? DEFAULT_NAMESPACE,
      service: opts.service,
    });
    // Entries may each hold several concatenated certificates (a bundle file read as one string).
    this.initialBundle = opts.trustBundlePem.flatMap(splitPemCerts);
    if (this.initialBundle.length === 0) throw new Error("TSMESH_ERR_NO_TRUST_BUNDLE: trustBundlePem holds no certificate");
    this.gauge = opts.registry ? this.expiryGauge(opts.registry) : undefined;
    // Without listeners an "error" event would throw; failures are logged and retried anyway.
    this.on("error", () => {});
  }

  /**
   * Obtains the first certificate with the bootstrap token and schedules renewals. Retries while
   * the control plane is unreachable (up to startTimeoutMs); a refusal fails at once.
   */
  async start(): Promise<IdentityState> {
    const cached = await this.fromCache();
    if (cached) return cached;
    const token = this.opts.token;
    if (!token) throw new Error("TSMESH_ERR_NO_TOKEN: a bootstrap token is needed for the first certificate");
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        const first = await this.fetch(token);
        this.install(first);
        return first;
      } catch (err) {
        const wait = backoffMs(attempt, this.opts.retryBaseMs ?? 250, this.opts.retryMaxMs ?? 5_000);
        if (this.stopped || !isTransient(err) || Date.now() + wait > deadline) throw err;
        this.opts.log?.warn("control plane unreachable; retrying the first certificate", { err: err as Error, attempt, retryInMs: Math.round(wait) });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async fromCache(): Promise<IdentityState | undefined> {
    const dir = this.opts.cacheDir;
    if (!dir) return undefined;
    const { state, reason } = await loadIdentityCache(dir, this.spiffeId, this.initialBundle);
    if (state) {
      this.opts.log?.info("using the cached workload certificate; renewing over mTLS when due", { notAfter: state.notAfter.toISOString() });
      this.install(state, false);
      return state;
    }
    if (reason !== "absent") this.opts.log?.warn("cached workload certificate not usable; using the bootstrap token", { code: "TSMESH_ERR_IDENTITY_CACHE", reason });
    return undefined;
  }

  current(): IdentityState | undefined {
    return this.state;
  }

  /** TLS options for a listener or client: key, chain, CA bundle. */
  tlsOptions(): { key: string; cert: string; ca: string[] } {
    const s = this.state;
    if (!s) throw new Error("TSMESH_ERR_NO_IDENTITY: no certificate yet");
    return { key: s.keyPem, cert: s.chainPem, ca: s.trustBundlePem };
  }

  /** Replaces the trust bundle (e.g. pushed with config) and notifies listeners. */
  setTrustBundle(pems: string[]): void {
    const bundle = normalizeBundle(pems.flatMap(splitPemCerts));
    if (!this.state || bundle.length === 0) return;
    this.state = { ...this.state, trustBundlePem: bundle };
    this.emit("rotate", this.state);
  }

  /** Renews now (also what the timer calls). Keeps the current certificate on failure. */
  async renew(): Promise<IdentityState> {
    const s = this.state;
    if (!s) throw new Error("TSMESH_ERR_NO_IDENTITY: start() first");
    const next = await this.fetch(undefined, s);
    this.install(next);
    return next;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.gaugeTimer) clearInterval(this.gaugeTimer);
    this.timer = this.gaugeTimer = undefined;
  }

  private async fetch(token: string | undefined, cur?: IdentityState): Promise<IdentityState> {
    const { privateKeyPem } = await generateKeyPairAsync();
    const csrPem = createCsr(privateKeyPem, this.spiffeId);
    const res = await callSign({
      address: this.opts.controlPlane,
      trustBundlePem: cur?.trustBundlePem ?? this.initialBundle,
      trustDomain: this.opts.trustDomain ?? DEFAULT_TRUST_DOMAIN,
      csrPem,
      bootstrapToken: token,
      clientCert: cur ? { keyPem: cur.keyPem, chainPem: cur.chainPem } : undefined,
      ttlSeconds: this.opts.ttlSeconds,
    });
    if (res.spiffeId !== this.spiffeId) throw new Error(`TSMESH_ERR_IDENTITY_MISMATCH: CA issued ${res.spiffeId}, expected ${this.spiffeId}`);
    return {
      spiffeId: res.spiffeId,
      keyPem: privateKeyPem,
      certPem: res.certChainPem[0] ?? "",
      chainPem: res.certChainPem.join(""),
      trustBundlePem: res.trustBundlePem.length > 0 ? res.trustBundlePem : (cur?.trustBundlePem ?? this.initialBundle),
      serial: res.serial,
      notAfter: new Date(res.expiresAtUnixMs),
    };
  }

  private install(s: IdentityState, persist = true): void {
    this.state = s;
    if (persist && this.opts.cacheDir) {
      const dir = this.opts.cacheDir;
      saveIdentityCache(dir, s).catch((err: unknown) =>
        this.opts.log?.warn("could not cache the workload certificate", { code: "TSMESH_ERR_IDENTITY_CACHE", dir, error: (err as Error).message }),
      );
    }
    this.failures = 0;
    this.updateGauge();
    this.opts.log?.info("workload certificate installed", { spiffeId: s.spiffeId, serial: s.serial, notAfter: s.notAfter.toISOString() });
    this.emit("rotate", s);
    this.schedule(renewAt(Date.now(), s.notAfter.getTime(), this.opts.jitter ?? 0.05) - Date.now());
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renewFromTimer(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async renewFromTimer(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.renew();
    } catch (err) {
      this.failures++;
      const wait = backoffMs(this.failures, this.opts.retryBaseMs ?? 250, this.opts.retryMaxMs ?? 30_000);
      const left = (this.state?.notAfter.getTime() ?? 0) - Date.now();
      this.opts.log?.[left > 0 ? "warn" : "error"]("certificate renewal failed; keeping the current certificate", {
        err: err as Error,
        attempt: this.failures,
        retryInMs: Math.round(wait),
        expiresInMs: left,
      });
      this.emit("error", err as Error);
      this.schedule(wait);
    }
  }

  private expiryGauge(registry: Registry): Gauge {
    const existing = registry.getSingleMetric(CERT_EXPIRY_METRIC);
    if (existing instanceof Gauge) {
      // Created elsewhere (shared/metrics) without a collect hook: keep it fresh ourselves.
      this.gaugeTimer = setInterval(() => this.updateGauge(), 1000);
      this.gaugeTimer.unref();
      return existing;
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Gauge({
      name: CERT_EXPIRY_METRIC,
      help: "Seconds until the workload certificate expires",
      registers: [registry],
      collect() {
        self.updateGauge(this);
      },
    });
  }

  private updateGauge(g: Gauge | undefined = this.gauge): void {
    if (g && this.state) g.set(Math.max(0, (this.state.notAfter.getTime() - Date.now()) / 1000));
  }
}
