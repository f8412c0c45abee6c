// The sidecar's config-push client: last-known-good from disk first, then a stream to one of the
// control-plane addresses; every response is validated and applied, then ACKed, or NACKed with
// the reason (the previous config stays in force). On stream loss it moves to the next address
// after an exponential backoff with jitter; the config it serves is kept meanwhile.
import { EventEmitter } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { DEFAULT_TRUST_DOMAIN } from "../../shared/identity.js";
import type { Logger } from "../../shared/log.js";
import type { NodeInfo } from "../../shared/node-info.js";
import type { DiscoveryRequestMsg, DiscoveryResponseMsg } from "../../shared/proto/load.js";
import type { Snapshot } from "../../shared/snapshot.js";
import { backoffMs } from "../identity/schedule.js";
import { openStream, type ClientTls, type OpenedStream } from "./channel.js";
import { loadLastKnownGood, saveLastKnownGood } from "./lkg.js";
import { validateResponse } from "./validate.js";

export interface XdsClientOptions {
  /** host:port of every control-plane replica. */
  addresses: string[];
  node: NodeInfo;
  /** Current client certificate (read at each connect, so renewals are picked up). */
  tls: () => ClientTls | undefined;
  trustDomain?: string;
  /** Installs a validated snapshot (e.g. the sidecar's config.set); throwing rejects it (NACK). */
  apply: (snapshot: Snapshot) => void | Promise<void>;
  /** A pushed trust bundle, for whoever owns TLS material (e.g. WorkloadIdentity.setTrustBundle). */
  onTrustBundle?: (pems: string[]) => void;
  /** Last-known-good cache file; none when unset. */
  cacheFile?: string;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  channelOptions?: grpc.ChannelOptions;
  log?: Logger;
}

export interface XdsClientEvents {
  /** Every response received, before validation (tests, debugging). */
  response: [version: string];
  applied: [Snapshot];
  rejected: [version: string, reason: string];
  connected: [address: string];
  disconnected: [address: string, reason: string];
}

export class XdsClient extends EventEmitter<XdsClientEvents> {
  private current: Snapshot | undefined;
  private rejected: { version: string; reason: string } | undefined;
  private stream: OpenedStream | undefined;
  private address: string | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: XdsClientOptions) {
    super();
    if (opts.addresses.length === 0) throw new Error("TSMESH_ERR_NO_CONTROL_PLANE: at least one control-plane address is needed");
  }

  /** Loads last-known-good (applied at once), then starts connecting; does not wait for a connection. */
  async start(): Promise<void> {
    if (this.opts.cacheFile) {
      try {
        const lkg = await loadLastKnownGood(this.opts.cacheFile);
        if (lkg) {
          await this.opts.apply(lkg);
          this.current = lkg;
          this.opts.onTrustBundle?.(lkg.trustBundle);
          this.opts.log?.info("serving last-known-good config until the control plane answers", { version: lkg.version, file: this.opts.cacheFile });
          this.emit("applied", lkg);
        }
      } catch (err) {
        this.opts.log?.warn("last-known-good config unusable; waiting for the control plane", { code: "TSMESH_ERR_LKG_INVALID", file: this.opts.cacheFile, err: err as Error });
      }
    }
    this.loop = this.run();
  }

  snapshot(): Snapshot | undefined {
    return this.current;
  }

  version(): string {
    return this.current?.version ?? "";
  }

  connectedTo(): string | undefined {
    return this.address;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.close();
    this.wake?.();
    await this.loop;
  }

  /**
   * Tells the control plane this sidecar is draining, ends the stream and opens no other: the
   * control plane deregisters the endpoint at once, so peers stop sending to it. A stream that
   * merely breaks keeps the endpoint (another replica may take the sidecar over). Resolves once
   * the control plane closed the stream, or after `timeoutMs`.
   */
  async deregister(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const call = this.stream?.call;
    if (call && !call.writableEnded) {
      call.write({ versionInfo: this.version(), responseNonce: "", errorDetail: "", draining: true });
      call.end();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.stream?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (let i = 0; !this.stopped; i++) {
      const address = this.opts.addresses[i % this.opts.addresses.length]!;
      const healthy = await this.session(address);
      if (this.stopped) break;
      failures = healthy ? 0 : failures + 1;
      const wait = backoffMs(failures, this.opts.backoffBaseMs ?? 200, this.opts.backoffMaxMs ?? 15_000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One stream until it ends. True when it got at least one response (the address was healthy). */
  private session(address: string): Promise<boolean> {
    const tls = this.opts.tls();
    if (!tls) {
      this.opts.log?.warn("no client certificate yet; cannot subscribe to config", { code: "TSMESH_ERR_NO_IDENTITY" });
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      let healthy = false;
      let ended = false;
      let chain = Promise.resolve();
      const opened = openStream(address, tls, this.opts.trustDomain ?? DEFAULT_TRUST_DOMAIN, this.opts.channelOptions);
      this.stream = opened;
      const { call } = opened;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        opened.close();
        if (this.stream === opened) this.stream = undefined;
        if (this.address === address && healthy) {
          this.address = undefined;
          this.emit("disconnected", address, reason);
        }
        // A refusal (identity, bad node) is worth a warning even before any response; a replica
        // that is simply down is not, until we had a stream with it.
        if (!this.stopped) this.opts.log?.[healthy || reason.includes("TSMESH_ERR_") ? "warn" : "debug"]("config stream ended", { controlPlane: address, reason });
        resolve(healthy);
      };
      const send = (req: DiscoveryRequestMsg) => {
        // Stopped: deregister() may have half-closed the call already.
        if (!ended && !this.stopped) call.write(req);
      };
      call.on("data", (res: DiscoveryResponseMsg) => {
        if (!healthy) {
          healthy = true;
          this.address = address;
          this.opts.log?.info("config stream up", { controlPlane: address });
          this.emit("connected", address);
        }
        chain = chain.then(() => this.onResponse(res, send));
      });
      call.on("error", (err: Error) => end(err.message));
      call.on("end", () => end("stream closed by the control plane"));
      const n = this.opts.node;
      send({
        node: { service: n.service, instanceId: n.instanceId, address: n.address ?? "", inboundPort: n.inboundPort ?? 0, labels: n.labels ?? {}, namespace: n.namespace ?? "" },
        versionInfo: this.version(),
        responseNonce: "",
        errorDetail: "",
      });
    });
  }

  private async onResponse(res: DiscoveryResponseMsg, send: (req: DiscoveryRequestMsg) => void): Promise<void> {
    const ack = () => send({ versionInfo: this.version(), responseNonce: res.nonce, errorDetail: "" });
    const nack = (reason: string) => send({ versionInfo: this.version(), responseNonce: res.nonce, errorDetail: reason });
    this.emit("response", res.versionInfo);
    if (res.versionInfo === this.current?.version) return ack();
    if (res.versionInfo === this.rejected?.version) return nack(this.rejected.reason);
    const previous = this.current;
    try {
      const snap = validateResponse(res);
      await this.opts.apply(snap);
      this.current = snap;
    } catch (err) {
      const reason = (err as Error).message || String(err);
      this.rejected = { version: res.versionInfo, reason };
      // An apply that failed halfway: put the previous config back (best effort).
      if (previous) await Promise.resolve(this.opts.apply(previous)).catch(() => {});
      this.opts.log?.warn("config rejected; previous config stays in force", { code: "TSMESH_ERR_CONFIG_REJECTED", version: res.versionInfo, inForce: this.version(), reason });
      this.emit("rejected", res.versionInfo, reason);
      return nack(reason);
    }
    const snap = this.current;
    if (snap.trustBundle.length > 0 && JSON.stringify(snap.trustBundle) !== JSON.stringify(previous?.trustBundle)) this.opts.onTrustBundle?.(snap.trustBundle);
    if (this.opts.cacheFile) {
      await saveLastKnownGood(this.opts.cacheFile, snap).catch((err: unknown) =>
        this.opts.log?.warn("could not write last-known-good config", { file: this.opts.cacheFile, err: err as Error }),
      );
    }
    this.emit("applied", snap);
    ack();
  }
}
