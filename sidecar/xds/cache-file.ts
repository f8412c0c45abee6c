// Where a sidecar keeps its last-known-good config when no --config-cache is given: stable across
// restarts of the same service on the same inbound port (the instance id may change with the pid).
import os from "node:os";
import path from "node:path";

export function defaultCacheFile(service: string, inboundPort: number, dir = os.tmpdir()): string {
  return path.join(dir, `tsmesh-sidecar-${service}-${inboundPort}-config.json`);
}
