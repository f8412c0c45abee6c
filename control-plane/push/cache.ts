// Snapshot cache, apart from any transport: holds the latest MeshState, builds one immutable
// snapshot per node group (namespace/service) and version, checks it before anyone may send it, and tells
// subscribers (the streams) that a new version exists.
import { DEFAULT_NAMESPACE } from "../../shared/identity.js";
import { serviceKey } from "../../shared/service-key.js";
import type { NodeInfo } from "../../shared/node-info.js";
import type { Snapshot } from "../../shared/snapshot.js";
import type { MeshState } from "./state.js";
import { buildSnapshot, checkSnapshot } from "./translate.js";

export interface CachedSnapshot {
  readonly version: string;
  readonly snapshot: Snapshot;
  /** snapshot_json as sent on the wire: serialised once per version and group, shared by all streams. */
  readonly json: string;
}

export interface SnapshotCacheOptions {
  /** Nodes with the same key get the same snapshot; default: by service. */
  groupOf?: (node: NodeInfo) => string;
  translate?: (state: MeshState, node: NodeInfo) => Snapshot;
  /** An inconsistent snapshot was refused (the group keeps its previous one). */
  onRejected?: (group: string, version: string, problems: string[]) => void;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

export class SnapshotCache {
  private state: MeshState | undefined;
  /** Snapshots of the current version, by group. */
  private current = new Map<string, CachedSnapshot>();
  /** Last consistent snapshot by group: served when the current one fails its check. */
  private lastGood = new Map<string, CachedSnapshot>();
  private readonly listeners = new Set<(version: string) => void>();
  private readonly groupOf: (node: NodeInfo) => string;
  private readonly translate: (state: MeshState, node: NodeInfo) => Snapshot;

  constructor(private readonly opts: SnapshotCacheOptions = {}) {
    // The snapshot depends on the node's namespace (short names resolve there): group by both.
    this.groupOf = opts.groupOf ?? ((n) => serviceKey(n.namespace ?? DEFAULT_NAMESPACE, n.service));
    this.translate = opts.translate ?? buildSnapshot;
  }

  /** Version of the state last set, undefined before the first. */
  version(): string | undefined {
    return this.state ? String(this.state.revision) : undefined;
  }

  /** Publishes a new state: snapshots of known groups are built and checked now, then subscribers hear of it. */
  setState(state: MeshState, probes: Iterable<NodeInfo> = []): void {
    this.state = deepFreeze(state);
    this.current = new Map();
    for (const node of probes) this.get(node);
    const version = String(state.revision);
    for (const fn of this.listeners) fn(version);
  }

  /** The snapshot for `node` at the current version (or the group's last good one); undefined before any state. */
  get(node: NodeInfo): CachedSnapshot | undefined {
    if (!this.state) return undefined;
    const group = this.groupOf(node);
    const hit = this.current.get(group);
    if (hit) return hit;
    const snapshot = deepFreeze(this.translate(this.state, node));
    const problems = checkSnapshot(snapshot);
    if (problems.length > 0) {
      this.opts.onRejected?.(group, snapshot.version, problems);
      const fallback = this.lastGood.get(group);
      if (fallback) this.current.set(group, fallback);
      return fallback;
    }
    const entry: CachedSnapshot = Object.freeze({ version: snapshot.version, snapshot, json: JSON.stringify(snapshot) });
    this.current.set(group, entry);
    this.lastGood.set(group, entry);
    return entry;
  }

  subscribe(fn: (version: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
