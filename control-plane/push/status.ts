// Per-sidecar status records at /tsmesh/v1/sidecars/<instanceId> (what /api/v1/sidecars lists).
// All records of one replica live under one lease of that replica: they vanish when the sidecar
// disconnects (deleted) or when the replica dies (lease expires), and 1,000 sidecars cost one
// keepalive, not 1,000. Writes are batched into transactions so an ACK storm after a push is a
// handful of etcd round trips. A delete only removes the record if this replica wrote it last,
// so a sidecar that already moved to another replica keeps its record.
import type { Etcd3, Lease } from "etcd3";
import type { Logger } from "../../shared/log.js";
import { sidecarKey } from "../store/keys.js";

export interface SidecarRecord {
  service: string;
  instanceId: string;
  address: string;
  ackedVersion: string;
  nackedVersion?: string;
  lastError?: string;
  /** Replica id of the control plane the stream is on. */
  connectedTo: string;
  updatedAt: string;
}

/** etcd's default --max-txn-ops is 128. */
const MAX_TXN_OPS = 100;

export interface StatusWriterOptions {
  ttlSeconds?: number;
  flushMs?: number;
  log?: Logger;
}

export class StatusWriter {
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  /** Latest record of every sidecar on this replica, with the revision of our last write of it. */
  private readonly owned = new Map<string, SidecarRecord>();
  /** Mod revision of this replica's last write of each record still in etcd. */
  private readonly writtenAt = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly opts: StatusWriterOptions = {},
  ) {}

  /** The record another replica (or this one, earlier) wrote for the instance, if any. */
  async read(instanceId: string): Promise<SidecarRecord | undefined> {
    const v = await this.etcd.get(sidecarKey(instanceId)).string();
    return v ? (JSON.parse(v) as SidecarRecord) : undefined;
  }

  set(record: SidecarRecord): void {
    this.owned.set(record.instanceId, record);
    this.dirty.add(record.instanceId);
    this.schedule();
  }

  /** The sidecar left this replica: delete its record unless someone else wrote it since. */
  remove(instanceId: string): Promise<void> {
    this.owned.delete(instanceId);
    this.dirty.delete(instanceId);
    return this.enqueue(async () => {
      // Read at run time: a write of this record may have been in flight when remove() was called.
      const rev = this.writtenAt.get(instanceId);
      if (rev === undefined || this.stopped || this.owned.has(instanceId)) return;
      this.writtenAt.delete(instanceId);
      const key = sidecarKey(instanceId);
      await this.etcd.if(key, "Mod", "==", rev).then(this.etcd.delete().key(key)).commit();
    });
  }

  /** Writes pending records now (tests, shutdown). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.enqueue(() => this.writeDirty());
  }

  /** Revokes the lease: every record of this replica disappears. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue.catch(() => {});
    this.stopped = true;
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      lease.removeAllListeners("lost");
      await lease.revoke({ deadline: Date.now() + 2000 }).catch(() => {});
    }
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.writeDirty());
    }, this.opts.flushMs ?? 100);
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op).catch((err: unknown) => {
      this.opts.log?.warn("sidecar status write failed; will retry", { err: err as Error });
      if (this.dirty.size > 0) this.schedule();
    });
    this.queue = next;
    return next;
  }

  private async ensureLease(): Promise<string> {
    if (this.leaseId && this.lease) return this.leaseId;
    const lease = this.etcd.lease(this.opts.ttlSeconds ?? 10);
    lease.on("lost", (err: Error) => {
      if (this.lease !== lease) return;
      this.opts.log?.warn("sidecar status lease lost; re-writing records under a new one", { err });
      this.lease = this.leaseId = undefined;
      for (const id of this.owned.keys()) this.dirty.add(id);
      this.schedule();
    });
    const id = await lease.grant();
    this.lease = lease;
    this.leaseId = id;
    return id;
  }

  private async writeDirty(): Promise<void> {
    if (this.stopped || this.dirty.size === 0) return;
    const lease = await this.ensureLease();
    const ids = [...this.dirty];
    for (let i = 0; i < ids.length; i += MAX_TXN_OPS) {
      const batch = ids.slice(i, i + MAX_TXN_OPS).filter((id) => this.owned.has(id));
      if (batch.length === 0) continue;
      const sent = batch.map((id) => this.owned.get(id)!);
      const res = await this.etcd.kv.txn({
        compare: [],
        success: sent.map((r) => ({ request_put: { key: Buffer.from(sidecarKey(r.instanceId)), value: Buffer.from(JSON.stringify(r)), lease } })),
        failure: [],
      });
      const rev = Number(res.header.revision);
      for (const r of sent) {
        this.writtenAt.set(r.instanceId, rev);
        // Still dirty only if it changed again while the write was in flight.
        if (this.owned.get(r.instanceId) === r) this.dirty.delete(r.instanceId);
      }
    }
  }
}
