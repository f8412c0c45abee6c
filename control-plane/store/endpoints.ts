// Endpoint registration under an etcd lease: the key lives only while its owner keeps the lease
// alive. A registration must survive an etcd leader election or the loss of one member: etcd3
// sends each call to one member picked at random and does not fail over, so a keepalive that
// fails is retried at once (another member, 100 ms-1 s apart) instead of at the next beat, and
// when the lease gets within a third of its TTL of expiring the key is moved to a fresh lease
// (grant + put) so it is never deleted while its owner is alive. Heartbeats never overlap: one
// loop, one etcd call at a time.
import type { Etcd3, Lease } from "etcd3";
import { EtcdLeaseInvalidError } from "etcd3";
import { qualifyService } from "../../shared/service-key.js";
import type { EndpointRecord } from "../../shared/snapshot.js";
import { guard, isUnavailable } from "./errors.js";
import { ENDPOINTS_PREFIX, endpointKey } from "./keys.js";
import type { Listed } from "./resources.js";

export interface EndpointRegistration {
  readonly key: string;
  /**
   * Stops heartbeating and revokes the lease: the endpoint disappears now instead of after the
   * TTL. With `drain`, the record is first rewritten with `draining: true`, which tells config
   * push to drop it at once rather than after its removal grace period (a deliberate
   * deregistration, not a lost owner). Resolves once etcd confirmed, or gave up after 3 TTLs.
   */
  close(opts?: { drain?: boolean }): Promise<void>;
  /** Stops heartbeating without revoking: the endpoint disappears when the TTL runs out. */
  abandon(): void;
}

/** Every endpoint, or those of `service` ("shop/reviews"; a short name is in the default namespace). */
export async function listEndpoints(etcd: Etcd3, service?: string): Promise<Listed<EndpointRecord>> {
  const prefix = service ? `${ENDPOINTS_PREFIX}${qualifyService(service)}/` : ENDPOINTS_PREFIX;
  const res = await etcd.getAll().prefix(prefix).sort("Key", "Ascend").exec();
  return { items: res.kvs.map((kv) => JSON.parse(kv.value.toString()) as EndpointRecord), revision: Number(res.header.revision) };
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

const leaseGone = (err: unknown) => err instanceof EtcdLeaseInvalidError;

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
  const ttlMs = ttlSeconds * 1000;
  const beatMs = Math.max(200, ttlMs / 3);
  const deadline = () => ({ deadline: Date.now() + callTimeoutMs });

  /** The lease the key is (to be) under, and whether a put under it was confirmed. */
  let lease: Lease | undefined;
  let confirmed = false;
  /** When etcd drops the key at the latest, as far as we know (local clock). */
  let expiresAt = 0;
  /** Every lease granted (or maybe granted) and not yet revoked, with when its grant was sent. */
  const granted = new Map<Lease, number>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let retryMs = RETRY_MIN_MS;

  const newLease = (): Lease => {
    const l = etcd.lease(ttlSeconds, { autoKeepAlive: false });
    l.on("lost", () => {}); // handled by the loop below
    granted.set(l, Date.now());
    return l;
  };

  /**
   * Puts the key under `l`. From the call on, `l` is the lease: a put whose outcome is unknown is
   * retried under the same lease (so a late one cannot move the key to a lease nobody keeps
   * alive) until it is confirmed or etcd says the lease is gone.
   */
  const putUnder = async (l: Lease): Promise<void> => {
    lease = l;
    confirmed = false;
    try {
      await guard(() => l.grant());
    } catch (err) {
      // etcd3 never retries a failed grant: the next step grants a new lease.
      granted.delete(l);
      if (lease === l) lease = undefined;
      throw err;
    }
    if (closed) return;
    await guard(() => l.put(key).value(value).exec());
    if (closed) return;
    // Older leases hold nothing any more: left to expire.
    for (const g of granted.keys()) if (g !== l) granted.delete(g);
    confirmed = true;
    expiresAt = (granted.get(l) ?? Date.now()) + ttlMs;
  };

  /** One step: (re)write the key, keep its lease alive, or move it to a fresh lease. */
  const step = async (): Promise<void> => {
    if (!lease) return putUnder(newLease());
    if (!confirmed) return putUnder(lease);
    const sentAt = Date.now();
    try {
      const res = await guard(() => lease!.keepaliveOnce(deadline()));
      expiresAt = sentAt + Number(res.TTL) * 1000;
    } catch (err) {
      // Not reachable and the lease is in its last third: move the key to a fresh lease, which
      // may go through another member.
      if (isUnavailable(err) && Date.now() > expiresAt - ttlMs / 3) {
        await putUnder(newLease());
        return;
      }
      throw err;
    }
  };

  const schedule = (ms: number) => {
    if (closed) return;
    timer = setTimeout(() => {
      running = step().then(
        () => {
          retryMs = RETRY_MIN_MS;
          schedule(beatMs);
        },
        (err: unknown) => {
          // Expired (etcd already removed the key): write it again under a new lease at once.
          if (leaseGone(err) && lease) {
            granted.delete(lease);
            lease = undefined;
          }
          schedule(retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        },
      );
    }, ms);
    timer.unref();
  };

  const revokeAll = async () => {
    const giveUpAt = Date.now() + 3 * ttlMs;
    let wait = RETRY_MIN_MS;
    while (granted.size > 0) {
      for (const l of [...granted.keys()]) {
        try {
          await l.revoke(deadline());
          granted.delete(l);
        } catch (err) {
          if (!isUnavailable(err)) granted.delete(l);
        }
      }
      if (granted.size === 0 || Date.now() > giveUpAt) return;
      // An unanswered revoke may still land, or not: ask again until etcd says.
      await new Promise((r) => setTimeout(r, wait).unref());
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    }
  };

  try {
    await putUnder(newLease());
  } catch (err) {
    closed = true;
    void revokeAll();
    throw err;
  }
  schedule(beatMs);

  return {
    key,
    abandon: () => {
      closed = true;
      clearTimeout(timer);
    },
    close: async (opts = {}) => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      if (opts.drain) {
        // The step in flight ends within its call timeouts and nothing starts after it, so no
        // plain put can land after the draining one.
        await running;
        const l = lease;
        if (l && confirmed) await guard(() => l.put(key).value(JSON.stringify({ ...record, draining: true })).exec()).catch(() => {});
      }
      // Without waiting for the step in flight: a lease it is granting is in `granted` already,
      // and a put it sent is either undone by the revoke or refused by etcd after it.
      await revokeAll();
    },
  };
}
