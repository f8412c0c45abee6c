// etcd -> MeshState, continuously: list everything under /tsmesh/v1/, then watch from the next
// revision. Changes to relevant keys are coalesced (default 100 ms) into one new state. No update
// is lost: the watch resumes from the last revision it delivered (store/watch.ts), and when etcd
// has compacted that revision away we re-list (full resync) and watch again from the new one.
//
// An endpoint that disappears is removed from the pushed state only after a grace period
// (default 5 s): a lease that expired during an etcd leader election, or a registration revoked
// because its sidecar's stream broke while the sidecar moves to another replica, is written again
// within it, and peers never see the endpoint go. A deliberate deregistration (the record was
// rewritten with `draining: true` first, store/endpoints.ts) is dropped at once.
import type { Logger } from "../../shared/log.js";
import type { Store, WatchEvent, WatchHandle } from "../store/index.js";
import { ROOT, parseKey } from "../store/keys.js";
import { Coalescer } from "./debounce.js";
import { isRelevantKey, stateFromKvs, type KV, type MeshState } from "./state.js";

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_REMOVAL_GRACE_MS = 5000;

export interface MeshSourceOptions {
  store: Store;
  /** Window that coalesces a burst of writes into one push; default 100 ms. */
  debounceMs?: number;
  /** A new state; `changedAt` is when its first change was seen (push latency starts there). */
  onState: (state: MeshState, changedAt: number) => void;
  /** How long a vanished endpoint (not marked draining) stays in the pushed state; default 5 s, 0 = none. */
  removalGraceMs?: number;
  log?: Logger;
}

interface Held {
  kv: KV;
  timer: NodeJS.Timeout;
}

const isEndpointKey = (key: string) => parseKey(key).type === "endpoint";

function isDraining(kv: KV): boolean {
  try {
    return (JSON.parse(kv.value) as { draining?: unknown }).draining === true;
  } catch {
    return false;
  }
}

const fingerprint = (kvs: KV[]) =>
  JSON.stringify([...kvs].sort((a, b) => (a.key < b.key ? -1 : 1)).map((kv) => [kv.key, kv.modRevision, kv.value]));

export class MeshSource {
  private kvs = new Map<string, KV>();
  /** Endpoints deleted in etcd but still pushed until their grace period ends. */
  private readonly held = new Map<string, Held>();
  /** Revision the current content is valid at: the version sidecars see. */
  private revision = 0;
  /** Newest revision of any event seen (irrelevant keys too) and the one last published. */
  private latestRevision = 0;
  private publishedRevision = 0;
  /** A hold ended when no revision newer than the published one was known yet. */
  private releasePending = false;
  private watch: WatchHandle | undefined;
  private stopped = false;
  private resyncing: Promise<void> | undefined;
  private readonly coalescer: Coalescer;
  private published = false;
  /** Full re-lists done (start + compactions), for tests and logs. */
  resyncs = 0;

  constructor(private readonly opts: MeshSourceOptions) {
    this.coalescer = new Coalescer(opts.debounceMs ?? DEFAULT_DEBOUNCE_MS, (at) => this.publish(at));
  }

  /** Lists and starts watching; resolves after the first state was published (retries while etcd is down). */
  async start(): Promise<void> {
    await this.resync();
  }

  current(): number {
    return this.revision;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.coalescer.cancel();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    await this.watch?.close();
    this.watch = undefined;
  }

  private publish(changedAt: number): void {
    if (this.stopped) return;
    const { state, problems } = stateFromKvs(this.all(), this.revision);
    this.publishedRevision = this.revision;
    for (const p of problems) this.opts.log?.warn("ignoring unreadable key", { code: "TSMESH_ERR_BAD_STORED_VALUE", etcdKey: p.key, error: p.error });
    this.published = true;
    this.opts.onState(state, changedAt);
  }

  private all(): KV[] {
    return [...this.kvs.values(), ...[...this.held.values()].map((h) => h.kv)];
  }

  private hold(kv: KV): void {
    const graceMs = this.opts.removalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS;
    const timer = setTimeout(() => this.release(kv.key), graceMs);
    timer.unref();
    this.held.set(kv.key, { kv, timer });
  }

  private unhold(key: string): void {
    const h = this.held.get(key);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(key);
  }

  /** A grace period ended: push the removal at a revision no published state had. */
  private release(key: string): void {
    if (!this.held.delete(key) || this.stopped) return;
    this.releasePending = true;
    this.publishReleased();
  }

  private publishReleased(): void {
    // Versions are etcd revisions and a sidecar ignores a version it has: with nothing written
    // since the last push (rare: every push is followed by status writes), wait for the next event.
    if (!this.releasePending || this.latestRevision <= this.publishedRevision) return;
    this.releasePending = false;
    this.revision = this.latestRevision;
    this.coalescer.touch();
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === "compacted") {
      this.opts.log?.warn("watch revision compacted; re-listing", { revision: ev.revision, reason: ev.reason });
      void this.resync();
      return;
    }
    this.latestRevision = Math.max(this.latestRevision, ev.modRevision);
    if (!isRelevantKey(ev.key)) {
      this.publishReleased();
      return;
    }
    this.unhold(ev.key);
    const prev = this.kvs.get(ev.key);
    if (ev.type === "put") this.kvs.set(ev.key, { key: ev.key, value: ev.value, modRevision: ev.modRevision });
    else this.kvs.delete(ev.key);
    if (ev.type === "delete" && prev && isEndpointKey(ev.key) && !isDraining(prev) && (this.opts.removalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS) > 0) {
      this.hold(prev); // pushed content unchanged until the grace period ends
      this.publishReleased();
      return;
    }
    this.revision = ev.modRevision;
    this.coalescer.touch();
  }

  private resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    const seenAt = Date.now();
    await this.watch?.close();
    this.watch = undefined;
    let backoff = 100;
    for (;;) {
      if (this.stopped) return;
      try {
        const { kvs, revision } = await this.opts.store.range(ROOT);
        if (this.stopped) return;
        const next = new Map(kvs.filter((kv) => isRelevantKey(kv.key)).map((kv) => [kv.key, kv]));
        const before = fingerprint(this.all());
        const graced = (this.opts.removalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS) > 0;
        for (const key of this.held.keys()) if (next.has(key)) this.unhold(key);
        for (const kv of this.kvs.values()) if (graced && !next.has(kv.key) && isEndpointKey(kv.key) && !isDraining(kv)) this.hold(kv);
        this.kvs = next;
        this.latestRevision = Math.max(this.latestRevision, revision);
        const changed = !this.published || fingerprint(this.all()) !== before;
        this.resyncs++;
        if (changed) {
          // The listed content is valid at `revision`; an unchanged content keeps its version so
          // a compaction causes no push.
          this.revision = revision;
          this.coalescer.cancel();
          this.publish(seenAt);
        }
        this.watch = this.opts.store.watchPrefix(ROOT, revision + 1, (ev) => this.onEvent(ev), (err) =>
          this.opts.log?.error("watch handler failed", { err: err as Error }),
        );
        return;
      } catch (err) {
        this.opts.log?.warn("etcd list failed; retrying", { err: err as Error, retryInMs: backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }
}
