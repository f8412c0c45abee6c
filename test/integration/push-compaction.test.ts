// No lost update across a watch restart and an etcd compaction: the push source reaches etcd
// through a TCP proxy the test can cut. While it is cut, routes change and etcd compacts past the
// source's resume revision; when the proxy reopens, the watch resumes, learns its revision is
// gone, re-lists and publishes exactly the current state.
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MeshSource, type MeshState } from "../../control-plane/push/index.js";
import { createStore, type Store } from "../../control-plane/store/index.js";
import { useEtcd } from "../harness/etcd.js";
import { route, until } from "./push-harness.js";

const etcd = useEtcd();

/** A loopback TCP proxy that can drop every connection and refuse new ones. */
async function tcpProxy(target: URL) {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((r) => {
      open = false;
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

let direct: Store;
let viaProxy: Store;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;
let source: MeshSource;
const states: MeshState[] = [];

beforeAll(async () => {
  direct = createStore({ endpoints: [etcd().endpoint] });
  proxy = await tcpProxy(new URL(etcd().endpoint));
  viaProxy = createStore({ endpoints: [proxy.url], callTimeoutMs: 1000 });
});

afterAll(async () => {
  await source?.stop();
  viaProxy?.close();
  direct?.close();
  await proxy?.close();
});

it("re-lists after a compaction that happened while the watch was down, and loses no update", async () => {
  await direct.put(route("kept", "a", "a"));
  await direct.put(route("doomed", "a", "a"));
  source = new MeshSource({ store: viaProxy, debounceMs: 20, onState: (s) => states.push(s) });
  await source.start();
  expect(source.resyncs).toBe(1);
  expect(states.at(-1)!.routes.map((r) => r.metadata.name).sort()).toEqual(["doomed", "kept"]);

  // A live change arrives through the watch, debounced.
  await direct.put(route("live", "a", "a"));
  await until("live change", () => states.at(-1)!.routes.some((r) => r.metadata.name === "live"));

  proxy.cut();
  await direct.delete("HTTPRoute", "doomed");
  await direct.put(route("added-while-down", "b", "b"));
  const last = await direct.put(route("kept", "a", "c"));
  await direct.etcd.kv.compact({ revision: last.metadata.resourceVersion!, physical: true });
  proxy.restore();

  const s = await until("state after resync", () => {
    const st = states.at(-1)!;
    return st.revision >= Number(last.metadata.resourceVersion) ? st : undefined;
  }, 15_000);
  expect(source.resyncs).toBe(2);
  expect(s.routes.map((r) => r.metadata.name).sort()).toEqual(["added-while-down", "kept", "live"]);
  expect(s.routes.find((r) => r.metadata.name === "kept")!.spec.rules[0]!.backends[0]!.service).toBe("c");

  // And the watch runs again from the new revision.
  await direct.put(route("after", "a", "a"));
  await until("change after resync", () => states.at(-1)!.routes.some((r) => r.metadata.name === "after"));
});

it("a compaction with nothing missed causes no new version", async () => {
  const before = states.length;
  const v = states.at(-1)!.revision;
  proxy.cut();
  // Only irrelevant keys change: the re-list finds the same content and keeps the version.
  await direct.etcd.put("/tsmesh/v1/sidecars/x").value("{}").exec();
  await direct.etcd.put("/tsmesh/v1/sidecars/y").value("{}").exec();
  const { revision } = await direct.range("/tsmesh/v1/sidecars/");
  await direct.etcd.kv.compact({ revision: String(revision), physical: true });
  proxy.restore();
  await until("second resync", () => source.resyncs === 3, 15_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(states.length).toBe(before);
  expect(states.at(-1)!.revision).toBe(v);
});
