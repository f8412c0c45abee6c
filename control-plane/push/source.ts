// etcd -> MeshState, continuously: list everything under /tsmesh/v1/, then watch from the next
// revision. Changes to relevant keys are coalesced (default 100 ms) into one new state. No update
// is lost: the watch resumes from the last revision it delivered (store/watch.ts), and when etcd
// has compacted that revision away we re-list (full resync) and watch again from the new one.
import type { Logger } from "../../shared/log.js";
import type { Store, WatchEvent, WatchHandle } from "../store/index.js";
import { ROOT } from "../store/keys.js";
import { Coalescer } from "./debounce.js";
import { isRelevantKey, stateFromKvs, type KV, type MeshState } from "./state.js";

export const DEFAULT_DEBOUNCE_MS = 100;

export interface MeshSourceOptions {
  store: Store;
  /** Window that coalesces a burst of writes into one push; default 100 ms. */
  debounceMs?: number;
  /** A new state; `changedAt` is when its first change was seen (push latency starts there). */
  onState: (state: MeshState, changedAt: number) => void;
  log?: Logger;
}

const fingerprint = (kvs: Map<string, KV>) =>
  JSON.stringify([...kvs.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((kv) => [kv.key, kv.modRevision, kv.value]));

export class MeshSource {
  private kvs = new Map<string, KV>();
  /** Revision the current content is valid at: the version sidecars see. */
  private revision = 0;
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
    await this.watch?.close();
    this.watch = undefined;
  }

  private publish(changedAt: number): void {
    if (this.stopped) return;
    const { state, problems } = stateFromKvs(this.kvs.values(), this.revision);
    for (const p of problems) this.opts.log?.warn("ignoring unreadable key", { code: "TSMESH_ERR_BAD_STORED_VALUE", etcdKey: p.key, error: p.error });
    this.published = true;
    this.opts.onState(state, changedAt);
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === "compacted") {
      this.opts.log?.warn("watch revision compacted; re-listing", { revision: ev.revision, reason: ev.reason });
      void this.resync();
      return;
    }
    if (!isRelevantKey(ev.key)) return;
    if (ev.type === "put") this.kvs.set(ev.key, { key: ev.key, value: ev.value, modRevision: ev.modRevision });
    else this.kvs.delete(ev.key);
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
        const changed = !this.published || fingerprint(next) !== fingerprint(this.kvs);
        this.kvs = next;
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
