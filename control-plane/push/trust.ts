// The CA material the push side needs, from the CA plugin (ctx.ca): the trust bundle (pushed to
// sidecars) and the issuer chain (to verify a sidecar's client certificate, exactly as the CA
// does for renewals). The bundle is published to etcd (TRUST_BUNDLE_KEY) so a change bumps the
// revision and every replica pushes the same thing.
import type { Etcd3 } from "etcd3";
import type { Logger } from "../../shared/log.js";
import type { CaMaterialSlot } from "../ca/material-slot.js";
import type { CaMaterial } from "../ca/files.js";
import { TRUST_BUNDLE_KEY } from "../store/keys.js";

export interface TrustSourceOptions {
  ca: CaMaterialSlot;
  etcd: Etcd3;
  /** How often a bundle not yet written (etcd was unreachable) is tried again; default 30 s. */
  retryMs?: number;
  log?: Logger;
}

export class TrustSource {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private published: string | undefined;

  constructor(private readonly opts: TrustSourceOptions) {}

  /** Publishes the CA's bundle now (before the first snapshot is built) and whenever the CA reloads a changed one. */
  async start(): Promise<void> {
    if (!this.opts.ca.ready) throw new Error("TSMESH_ERR_NO_CA: config push needs the CA plugin on the same control plane");
    await this.publishLogged("trust bundle not published yet (etcd unreachable)");
    this.unsubscribe = this.opts.ca.onChange(() => void this.publishLogged("trust bundle not published yet (etcd unreachable)"));
    this.timer = setInterval(() => void this.publishLogged("trust bundle publish failed; trying again"), this.opts.retryMs ?? 30_000);
    this.timer.unref();
  }

  current(): CaMaterial {
    return this.opts.ca.current();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async publishLogged(failure: string): Promise<void> {
    await this.publish().catch((err: unknown) => this.opts.log?.warn(failure, { err: err as Error }));
  }

  /** Writes the bundle when it changed since this replica's last write (not on every tick). */
  private async publish(): Promise<void> {
    const value = JSON.stringify({ pems: this.current().bundle });
    if (value === this.published) return;
    const stored = await this.opts.etcd.get(TRUST_BUNDLE_KEY).string();
    if (stored !== value) await this.opts.etcd.put(TRUST_BUNDLE_KEY).value(value).exec();
    this.published = value;
  }
}
