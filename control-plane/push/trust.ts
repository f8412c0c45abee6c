// The CA material the push side needs: the trust bundle (pushed to sidecars) and the issuer
// chain (to verify a sidecar's client certificate, exactly as the CA does for renewals). Read
// from the same CA directory as the CA plugin, re-read periodically; the bundle is published to
// etcd (TRUST_BUNDLE_KEY) so a change bumps the revision and every replica pushes the same thing.
import fs from "node:fs/promises";
import path from "node:path";
import type { Etcd3 } from "etcd3";
import type { Logger } from "../../shared/log.js";
import { CA_FILES, keepPreviousIssuers, loadCaMaterial, type CaMaterial } from "../ca/files.js";
import { TRUST_BUNDLE_KEY } from "../store/keys.js";

export interface TrustSourceOptions {
  dir: string;
  bundle?: string;
  etcd: Etcd3;
  reloadMs?: number;
  log?: Logger;
}

export class TrustSource {
  private material: CaMaterial | undefined;
  private timer: NodeJS.Timeout | undefined;
  private published: string | undefined;

  constructor(private readonly opts: TrustSourceOptions) {}

  /** Loads the CA dir (waiting up to a few seconds for the CA plugin to create a dev CA) and publishes the bundle. */
  async start(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await fs.access(path.join(this.opts.dir, CA_FILES.issuerCert)).then(() => true, () => false)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    this.material = await loadCaMaterial(this.opts.dir, this.opts.bundle);
    await this.publish().catch((err: unknown) => this.opts.log?.warn("trust bundle not published yet (etcd unreachable)", { err: err as Error }));
    this.timer = setInterval(() => void this.reload(), this.opts.reloadMs ?? 30_000);
    this.timer.unref();
  }

  current(): CaMaterial {
    if (!this.material) throw new Error("TSMESH_ERR_NO_CA: trust source not started");
    return this.material;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reload(): Promise<void> {
    try {
      // Like the CA: chains through a replaced issuer stay acceptable until a restart.
      this.material = keepPreviousIssuers(await loadCaMaterial(this.opts.dir, this.opts.bundle), this.material);
      await this.publish();
    } catch (err) {
      this.opts.log?.warn("trust bundle reload failed; keeping the previous one", { err: err as Error });
    }
  }

  /** Writes the bundle when this replica's files changed since its last write (not on every tick). */
  private async publish(): Promise<void> {
    const value = JSON.stringify({ pems: this.current().bundle });
    if (value === this.published) return;
    const stored = await this.opts.etcd.get(TRUST_BUNDLE_KEY).string();
    if (stored !== value) await this.opts.etcd.put(TRUST_BUNDLE_KEY).value(value).exec();
    this.published = value;
  }
}
