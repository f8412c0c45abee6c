// Regression: an endpoint came back after close() when close() landed while its registration
// was being rewritten and etcd was stalled (SIGSTOP): the re-registration finished once etcd
// resumed and left the key behind for a whole TTL ("0 1 1 1 1 1 0 0" listing every 500 ms).
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStore, type Store } from "../../control-plane/store/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let store: Store;
let owner: Store;
beforeAll(() => {
  store = createStore({ endpoints: [etcd().endpoint], callTimeoutMs: 1000 });
  owner = createStore({ endpoints: [etcd().endpoint], callTimeoutMs: 2000 });
});
afterAll(() => {
  etcd().signal("SIGCONT");
  owner.close();
  store.close();
});

const TTL = 3;
const rec = { service: "raced", instanceId: "r-1", address: "127.0.0.1", port: 1, labels: {} };
const present = async () => (await store.listEndpoints("raced")).items.length;
// Positions in the owner's heartbeat cycle (TTL/3 = 1 s apart) while etcd is stalled: time
// passing is the scenario here, not a stand-in for an event.
const elapse = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Revokes the key's lease behind the owner's back; resolves when the owner has written it again. */
async function revokeAndAwaitRewrite(key: string): Promise<number> {
  const kv = (await store.etcd.get(key).exec()).kvs[0]!;
  await store.etcd.leaseClient.leaseRevoke({ ID: kv.lease });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if ((await present()) === 1) return Date.now();
    await elapse(20);
  }
  throw new Error("the owner did not write its endpoint again within 5 s");
}

it("an endpoint closed while etcd is stalled does not come back when etcd resumes", async () => {
  const reg = await owner.registerEndpoint(rec, TTL);
  // The rewrite happened on a beat; a second loss right after it is noticed one beat later and
  // the key written again on the beat after (or sooner), which is when etcd stalls and close() comes.
  const rewrittenAt = await revokeAndAwaitRewrite(reg.key);
  await store.etcd.leaseClient.leaseRevoke({ ID: (await store.etcd.get(reg.key).exec()).kvs[0]!.lease });
  await elapse(rewrittenAt + 1500 - Date.now());
  etcd().signal("SIGSTOP");
  await elapse(800);
  const closing = reg.close();
  await elapse(300);
  etcd().signal("SIGCONT");
  await closing;
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    seen.push(await present());
    await elapse(500);
  }
  expect(seen).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
}, 30_000);
