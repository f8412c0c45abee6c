import { afterAll, beforeAll } from "vitest";
import { startEtcd, type EtcdProcess } from "../../control-plane/store/embedded-etcd.js";

/**
 * Starts a real etcd on a free loopback port for the calling test file and removes its data dir
 * afterwards. Use at the top level of a test file: `const etcd = useEtcd();` then `etcd().endpoint`.
 */
export function useEtcd(): () => EtcdProcess {
  let proc: EtcdProcess | undefined;
  beforeAll(async () => {
    proc = await startEtcd();
  });
  afterAll(async () => {
    await proc?.destroy();
  });
  return () => {
    if (!proc) throw new Error("etcd not started yet: call inside a test or hook");
    return proc;
  };
}
