// Endpoint registration under an etcd lease: the key lives only while its owner keeps the lease
// alive (a keepalive every TTL/3). If the owner dies or loses etcd for longer than the TTL, etcd
// deletes the key by itself; if the lease is found expired later, we register again.
import type { Etcd3, Lease } from "etcd3";
import { EtcdLeaseInvalidError } from "etcd3";
import { qualifyService } from "../../shared/service-key.js";
import type { EndpointRecord } from "../../shared/snapshot.js";
import { guard } from "./errors.js";
import { ENDPOINTS_PREFIX, endpointKey } from "./keys.js";
import type { Listed } from "./resources.js";

export interface EndpointRegistration {
  readonly key: string;
  /** Revokes the lease: the endpoint disappears now instead of after the TTL. */
  close(): Promise<void>;
  /** Stops heartbeating without revoking: the endpoint disappears when the TTL runs out. */
  abandon(): void;
}

/** Every endpoint, or those of `service` ("shop/reviews"; a short name is in the default namespace). */
export async function listEndpoints(etcd: Etcd3, service?: string): Promise<Listed<EndpointRecord>> {
  const prefix = service ? `${ENDPOINTS_PREFIX}${qualifyService(service)}/` : ENDPOINTS_PREFIX;
  const res = await etcd.getAll().prefix(prefix).sort("Key", "Ascend").exec();
  return { items: res.kvs.map((kv) => JSON.parse(kv.value.toString()) as EndpointRecord), revision: Number(res.header.revision) };
}

/**
 * Writes the endpoint under a lease of `ttlSeconds` and keeps it alive until close(). Resolves
 * once the first write succeeded (throws StoreUnavailableError when etcd is down).
 */
export async function registerEndpoint(
  etcd: Etcd3,
  record: EndpointRecord,
  ttlSeconds: number,
  callTimeoutMs: number,
): Promise<EndpointRegistration> {
  const key = endpointKey(record.service, record.instanceId, record.namespace);
  const value = JSON.stringify(record);
  let lease: Lease | undefined;
  let closed = false;

  const register = async () => {
    const l = etcd.lease(ttlSeconds, { autoKeepAlive: false });
    l.on("lost", () => {}); // handled by the loop below
    await guard(() => l.put(key).value(value).exec());
    lease = l;
  };

  const beat = async () => {
    try {
      if (!lease) await register();
      else await guard(() => lease!.keepaliveOnce({ deadline: Date.now() + callTimeoutMs }));
    } catch (err) {
      // Expired while we could not reach etcd: etcd already removed the key; write it again.
      if (err instanceof EtcdLeaseInvalidError) lease = undefined;
      // StoreUnavailableError: keep beating; etcd expires the key if this lasts beyond the TTL.
    }
  };

  await register();
  const timer = setInterval(() => void beat(), Math.max(200, (ttlSeconds * 1000) / 3));
  timer.unref();
  return {
    key,
    abandon: () => {
      closed = true;
      clearInterval(timer);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await guard(() => lease?.revoke({ deadline: Date.now() + callTimeoutMs }) ?? Promise.resolve()).catch(() => {});
    },
  };
}
