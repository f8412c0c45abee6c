// One sidecar's config stream, without the transport: what to send when, and what an ACK or a
// NACK means. At most one response is outstanding; a newer version goes out after the answer.
// A NACKed version is remembered and never sent again to this sidecar (go-control-plane #46,
// #962); the next version is.
import { randomBytes } from "node:crypto";
import type { Logger } from "../../shared/log.js";
import type { ControlPlaneMetrics } from "../../shared/metrics/factory.js";
import type { NodeInfo } from "../../shared/node-info.js";
import type { DiscoveryRequestMsg, DiscoveryResponseMsg } from "../../shared/proto/load.js";
import type { PushSpan } from "../telemetry/tracing.js";
import type { SnapshotCache } from "./cache.js";
import type { SidecarRecord } from "./status.js";

export interface SessionDeps {
  cache: SnapshotCache;
  replicaId: string;
  metrics?: Pick<ControlPlaneMetrics, "pushes" | "pushLatency">;
  /** When the change behind `version` was first seen (push latency). */
  changedAt?: (version: string) => number | undefined;
  startSpan?: (info: { sidecar: string; service: string; version: string }) => PushSpan;
  /** Status record changed (written to etcd by the caller). */
  onStatus?: (record: SidecarRecord) => void;
  log?: Logger;
  now?: () => number;
}

interface Outstanding {
  version: string;
  nonce: string;
  span?: PushSpan;
}

const MAX_ERROR_DETAIL = 1024;

export class SidecarSession {
  private acked = "";
  private nacked: string | undefined;
  private lastError: string | undefined;
  private outstanding: Outstanding | undefined;
  private seq = 0;
  private readonly noncePrefix = randomBytes(4).toString("hex");
  private closed = false;
  /** The first response goes out even when the sidecar already has the version: it confirms the stream. */
  private greeted = false;

  constructor(
    private readonly deps: SessionDeps,
    readonly node: NodeInfo,
    private readonly send: (res: DiscoveryResponseMsg) => void,
    /** From the first request and, across replicas, the sidecar's stored record. */
    initial: { versionInfo: string; nackedVersion?: string; lastError?: string },
  ) {
    this.acked = initial.versionInfo;
    this.nacked = initial.nackedVersion;
    this.lastError = initial.lastError;
    this.report();
    this.maybePush();
  }

  ackedVersion(): string {
    return this.acked;
  }

  nackedVersion(): string | undefined {
    return this.nacked;
  }

  /** A new version is in the cache. */
  onVersion(): void {
    this.maybePush();
  }

  /** An ACK or NACK from the sidecar. Answers to responses other than the outstanding one are stale: ignored. */
  onRequest(req: DiscoveryRequestMsg): void {
    const out = this.outstanding;
    if (this.closed || !out || req.responseNonce !== out.nonce) return;
    this.outstanding = undefined;
    if (req.errorDetail) {
      this.nacked = out.version;
      this.lastError = req.errorDetail.slice(0, MAX_ERROR_DETAIL);
      // A NACK carries the version still in force.
      this.acked = req.versionInfo;
      this.deps.metrics?.pushes.inc({ result: "nack" });
      out.span?.end("nack", new Error(this.lastError));
      this.deps.log?.warn("sidecar rejected config", { code: "TSMESH_ERR_CONFIG_NACK", sidecar: this.node.instanceId, service: this.node.service, version: out.version, inForce: req.versionInfo, reason: this.lastError });
    } else {
      this.acked = req.versionInfo;
      if (this.acked === out.version) {
        this.nacked = undefined;
        this.lastError = undefined;
      }
      this.deps.metrics?.pushes.inc({ result: "ack" });
      const since = this.deps.changedAt?.(out.version);
      if (since !== undefined) this.deps.metrics?.pushLatency.observe(Math.max(0, this.now() - since) / 1000);
      out.span?.end("ack");
    }
    this.report();
    this.maybePush();
  }

  /** Stream ended; an unanswered push counts as an error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.outstanding) {
      this.deps.metrics?.pushes.inc({ result: "error" });
      this.outstanding.span?.end("error", new Error("stream closed before the sidecar answered"));
      this.outstanding = undefined;
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private maybePush(): void {
    if (this.closed || this.outstanding) return;
    const snap = this.deps.cache.get(this.node);
    if (!snap || snap.version === this.nacked || (this.greeted && snap.version === this.acked)) return;
    this.greeted = true;
    const nonce = `${this.noncePrefix}-${++this.seq}`;
    const span = this.deps.startSpan?.({ sidecar: this.node.instanceId, service: this.node.service, version: snap.version });
    this.outstanding = { version: snap.version, nonce, span };
    this.send({ versionInfo: snap.version, nonce, snapshotJson: snap.json, trustBundlePem: snap.snapshot.trustBundle as string[] });
  }

  private report(): void {
    this.deps.onStatus?.({
      service: this.node.service,
      instanceId: this.node.instanceId,
      address: this.node.address ?? "",
      ackedVersion: this.acked,
      ...(this.nacked ? { nackedVersion: this.nacked } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      connectedTo: this.deps.replicaId,
      updatedAt: new Date(this.now()).toISOString(),
    });
  }
}
