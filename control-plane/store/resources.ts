// Policy resources (HTTPRoute, DestinationPolicy, AuthorizationPolicy, MeshConfig) in etcd.
// The stored value is the resource JSON without resourceVersion: that is always the key's etcd
// mod revision, filled in on read, so it can never disagree with what etcd compares against.
import type { Etcd3, IKeyValue } from "etcd3";
import type { Kind, Resource } from "../../shared/schema/kinds.js";
import { ConflictError } from "./errors.js";
import { kindPrefix, resourceKey } from "./keys.js";

export interface Listed<T> {
  items: T[];
  /** etcd revision the list was read at: watch from revision + 1 to see every later change. */
  revision: number;
}

export function decodeResource<K extends Kind>(kv: IKeyValue): Resource<K> {
  const res = JSON.parse(kv.value.toString()) as Resource<K>;
  res.metadata = { ...res.metadata, resourceVersion: String(kv.mod_revision) };
  return res;
}

export async function getResource<K extends Kind>(etcd: Etcd3, kind: K, name: string): Promise<Resource<K> | undefined> {
  const res = await etcd.get(resourceKey(kind, name)).exec();
  const kv = res.kvs[0];
  return kv ? decodeResource<K>(kv) : undefined;
}

export async function listResources<K extends Kind>(etcd: Etcd3, kind: K): Promise<Listed<Resource<K>>> {
  const res = await etcd.getAll().prefix(kindPrefix(kind)).sort("Key", "Ascend").exec();
  return { items: res.kvs.map((kv) => decodeResource<K>(kv)), revision: Number(res.header.revision) };
}

function sameSpec(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Creates or updates. With metadata.resourceVersion set, the write only happens if the stored
 * mod revision still equals it (else ConflictError). Without it, last write wins. Returns the
 * stored resource with its new resourceVersion, generation (+1 when spec changed) and
 * creationTimestamp (kept from the first write).
 */
export async function putResource<K extends Kind>(etcd: Etcd3, resource: Resource<K>): Promise<{ resource: Resource<K>; created: boolean }> {
  const key = resourceKey(resource.kind, resource.metadata.name);
  const wanted = resource.metadata.resourceVersion;
  // Read-modify-write guarded by the mod revision we read; a racing writer only makes us re-read
  // (a few times) when the caller did not ask for a specific version.
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = (await etcd.get(key).exec()).kvs[0];
    const currentRev = current ? String(current.mod_revision) : undefined;
    if (wanted !== undefined && wanted !== currentRev) throw new ConflictError(key, wanted, currentRev);
    const prev = current ? decodeResource<K>(current) : undefined;
    const { resourceVersion: _rv, ...meta } = resource.metadata;
    const stored: Resource<K> = {
      ...resource,
      metadata: {
        ...meta,
        creationTimestamp: prev?.metadata.creationTimestamp ?? new Date().toISOString(),
        generation: prev ? (prev.metadata.generation ?? 1) + (sameSpec(prev.spec, resource.spec) ? 0 : 1) : 1,
      },
    };
    const txn = await etcd
      .if(key, "Mod", "==", currentRev ?? 0)
      .then(etcd.put(key).value(JSON.stringify(stored)))
      .commit();
    if (txn.succeeded) {
      stored.metadata.resourceVersion = String(txn.header.revision);
      return { resource: stored, created: !prev };
    }
    if (wanted !== undefined) throw new ConflictError(key, wanted, undefined);
  }
  throw new ConflictError(key, "(any)", "(changing too fast)");
}

/** Deletes; with resourceVersion only if it still matches. Returns false when nothing was there. */
export async function deleteResource(etcd: Etcd3, kind: Kind, name: string, resourceVersion?: string): Promise<boolean> {
  const key = resourceKey(kind, name);
  if (resourceVersion === undefined) {
    const res = await etcd.delete().key(key).exec();
    return Number(res.deleted) > 0;
  }
  const txn = await etcd.if(key, "Mod", "==", resourceVersion).then(etcd.delete().key(key)).commit();
  if (!txn.succeeded) {
    const current = (await etcd.get(key).exec()).kvs[0];
    if (!current) return false;
    throw new ConflictError(key, resourceVersion, String(current.mod_revision));
  }
  return true;
}
