// The control plane's one handle on etcd. Every method either answers within the call timeout
// or throws StoreUnavailableError (or ConflictError for a lost compare-and-swap).
import type { Etcd3 } from "etcd3";
import type { Kind, Resource } from "../../shared/schema/kinds.js";
import type { EndpointRecord } from "../../shared/snapshot.js";
import { createEtcdClient } from "./client.js";
import type { EtcdClientTls } from "./etcd-certs.js";
import { guard } from "./errors.js";
import { listEndpoints, registerEndpoint, type EndpointRegistration } from "./endpoints.js";
import { ADMIN_TOKEN_KEY, SIDECARS_PREFIX } from "./keys.js";
import { deleteResource, getResource, listResources, putResource, type Listed } from "./resources.js";
import { createBootstrapToken, type BootstrapToken } from "./tokens.js";
import { watchPrefix, type WatchEvent, type WatchHandle } from "./watch.js";

export interface StoreOptions {
  /** etcd client URLs. */
  endpoints: string[];
  /** Deadline per etcd call (default 2000 ms). */
  callTimeoutMs?: number;
  /** Called whenever etcd could not be reached (metrics). */
  onUnavailable?: (op: string) => void;
  /** TLS towards etcd (CA, client certificate); plaintext without it. */
  tls?: EtcdClientTls;
}

export interface RawKV {
  key: string;
  value: string;
  modRevision: number;
}

export class Store {
  /** The underlying etcd3 client, for transactions the store does not wrap (e.g. the CA consuming a token). */
  readonly etcd: Etcd3;
  private readonly timeoutMs: number;
  /** Watches and registrations still running, stopped by close(). */
  private readonly live = new Set<{ stop(): void }>();

  constructor(private readonly opts: StoreOptions) {
    this.timeoutMs = opts.callTimeoutMs ?? 2000;
    this.etcd = createEtcdClient({ endpoints: opts.endpoints, callTimeoutMs: this.timeoutMs, tls: opts.tls });
  }

  private run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return guard(fn, () => this.opts.onUnavailable?.(op));
  }

  get<K extends Kind>(kind: K, name: string): Promise<Resource<K> | undefined> {
    return this.run("get", () => getResource(this.etcd, kind, name));
  }

  list<K extends Kind>(kind: K): Promise<Listed<Resource<K>>> {
    return this.run("list", () => listResources(this.etcd, kind));
  }

  /** Create or update; CAS when metadata.resourceVersion is set (ConflictError on mismatch). */
  async put<K extends Kind>(resource: Resource<K>): Promise<Resource<K>> {
    return (await this.upsert(resource)).resource;
  }

  /** put() that also says whether the resource was created (201) or updated (200). */
  upsert<K extends Kind>(resource: Resource<K>): Promise<{ resource: Resource<K>; created: boolean }> {
    return this.run("put", () => putResource(this.etcd, resource));
  }

  /** False when it did not exist; ConflictError when resourceVersion is given and stale. */
  delete(kind: Kind, name: string, resourceVersion?: string): Promise<boolean> {
    return this.run("delete", () => deleteResource(this.etcd, kind, name, resourceVersion));
  }

  listEndpoints(service?: string): Promise<Listed<EndpointRecord>> {
    return this.run("listEndpoints", () => listEndpoints(this.etcd, service));
  }

  /** Registers under a lease of ttlSeconds (>= 1), kept alive until close(). */
  async registerEndpoint(record: EndpointRecord, ttlSeconds: number): Promise<EndpointRegistration> {
    const reg = await this.run("registerEndpoint", () => registerEndpoint(this.etcd, record, ttlSeconds, this.timeoutMs));
    const entry = { stop: () => reg.abandon() };
    this.live.add(entry);
    return {
      key: reg.key,
      abandon: () => {
        this.live.delete(entry);
        reg.abandon();
      },
      close: (opts) => {
        this.live.delete(entry);
        return reg.close(opts);
      },
    };
  }

  createBootstrapToken(opts: { service: string; namespace?: string; ttlMs: number }): Promise<BootstrapToken> {
    return this.run("createToken", () => createBootstrapToken(this.etcd, opts));
  }

  /** Every key under a prefix with the revision it was read at (resync point for watchPrefix). */
  range(prefix: string): Promise<{ kvs: RawKV[]; revision: number }> {
    return this.run("range", async () => {
      const res = await this.etcd.getAll().prefix(prefix).sort("Key", "Ascend").exec();
      const kvs = res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision) }));
      return { kvs, revision: Number(res.header.revision) };
    });
  }

  /** Sidecar status records written by config push (/tsmesh/v1/sidecars/<instanceId>). */
  async listSidecars(): Promise<unknown[]> {
    const { kvs } = await this.range(SIDECARS_PREFIX);
    return kvs.map((kv) => JSON.parse(kv.value) as unknown);
  }

  /** See watch.ts: resumable change feed; "compacted" means re-list and watch again. */
  watchPrefix(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, onError?: (err: unknown) => void): WatchHandle {
    const handle = watchPrefix(this.etcd, prefix, fromRevision, onEvent, onError);
    const entry = { stop: () => void handle.close() };
    this.live.add(entry);
    return {
      nextRevision: () => handle.nextRevision(),
      close: () => {
        this.live.delete(entry);
        return handle.close();
      },
    };
  }

  /** sha256 hex of the admin token, undefined when none was set yet. */
  getAdminTokenHash(): Promise<string | undefined> {
    return this.run("adminToken", async () => (await this.etcd.get(ADMIN_TOKEN_KEY).string()) ?? undefined);
  }

  /** Sets the admin token hash unless one exists; returns the hash that is in effect. */
  initAdminTokenHash(hash: string, overwrite: boolean): Promise<string> {
    return this.run("adminToken", async () => {
      if (overwrite) {
        await this.etcd.put(ADMIN_TOKEN_KEY).value(hash).exec();
        return hash;
      }
      const txn = await this.etcd.if(ADMIN_TOKEN_KEY, "Create", "==", 0).then(this.etcd.put(ADMIN_TOKEN_KEY).value(hash)).commit();
      if (txn.succeeded) return hash;
      return (await this.etcd.get(ADMIN_TOKEN_KEY).string()) ?? hash;
    });
  }

  /** Cheap round trip to etcd, for /readyz. */
  ping(): Promise<void> {
    return this.run("ping", async () => {
      await this.etcd.get(ADMIN_TOKEN_KEY).exec();
    });
  }

  /** Stops watches and heartbeats (leases are left to expire, not revoked) and closes the client. */
  close(): void {
    for (const l of this.live) l.stop();
    this.live.clear();
    this.etcd.close();
  }
}

export function createStore(opts: StoreOptions): Store {
  return new Store(opts);
}
