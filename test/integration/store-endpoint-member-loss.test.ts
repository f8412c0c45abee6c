// Regression (issue 12): with an etcd member down, endpoint leases expired under live sidecars.
// etcd3 sends each call to a member picked at random and does not fail over, and a keepalive
// that failed waited for the next beat: three unlucky beats in a row and the registration was
// deleted. Here four of five client URLs lead nowhere (a dead member answers the same way), and
// the registration must outlive four TTLs without a single delete.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStore, type Store } from "../../control-plane/store/index.js";
import { ENDPOINTS_PREFIX } from "../../control-plane/store/keys.js";
import { freePort } from "../../shared/net/free-port.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let watcher: Store;
let owner: Store;
beforeAll(async () => {
  const dead = [await freePort(), await freePort(), await freePort(), await freePort()].map((p) => `http://127.0.0.1:${p}`);
  watcher = createStore({ endpoints: [etcd().endpoint], callTimeoutMs: 1000 });
  owner = createStore({ endpoints: [etcd().endpoint, ...dead], callTimeoutMs: 1000 });
});
afterAll(() => {
  owner.close();
  watcher.close();
});

it("an endpoint registration survives etcd members that are down, with no delete", async () => {
  const TTL = 2;
  const { revision } = await watcher.range(ENDPOINTS_PREFIX);
  const deleted: string[] = [];
  watcher.watchPrefix(ENDPOINTS_PREFIX, revision + 1, (ev) => {
    if (ev.type === "delete") deleted.push(ev.key);
  });
  // The first write may take a few tries to find the live member.
  let reg;
  for (let i = 0; i < 20 && !reg; i++) reg = await owner.registerEndpoint({ service: "steady", instanceId: "s-1", address: "127.0.0.1", port: 1, labels: {} }, TTL).catch(() => undefined);
  expect(reg).toBeDefined();
  // Four TTLs passing is the scenario: any lease the heartbeats lost would have expired.
  await new Promise((r) => setTimeout(r, 4 * TTL * 1000));
  expect(deleted).toEqual([]);
  expect((await watcher.listEndpoints("steady")).items).toHaveLength(1);
  await reg!.close();
  expect((await watcher.listEndpoints("steady")).items).toHaveLength(0);
}, 30_000);
