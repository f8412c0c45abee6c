// MeshConfig `spec.certificates.workloadTTL`, read from etcd at each signing: every replica
// issues the same lifetime the moment the config changes, without a watch of its own.
import type { Etcd3 } from "etcd3";
import type { Logger } from "../../shared/log.js";
import { parseWorkloadTtl } from "../../shared/workload-ttl.js";
import { getResource } from "../store/resources.js";
import { CaError } from "./errors.js";

/** The lifetime MeshConfig `default` sets, or undefined when it sets none (or an unusable one). */
export async function meshWorkloadTtlMs(etcd: Etcd3, log?: Logger): Promise<number | undefined> {
  let spec: { certificates?: { workloadTTL?: unknown } } | undefined;
  try {
    spec = (await getResource(etcd, "MeshConfig", "default"))?.spec;
  } catch (err) {
    throw new CaError("TSMESH_ERR_STORE_UNAVAILABLE", `etcd: ${(err as Error).message}`);
  }
  const text = spec?.certificates?.workloadTTL;
  if (text === undefined) return undefined;
  try {
    return parseWorkloadTtl(String(text));
  } catch (err) {
    // The API refuses such a value; one written straight into etcd must not stop issuance.
    log?.warn("ignoring MeshConfig spec.certificates.workloadTTL; using the control plane's --cert-ttl", { code: "TSMESH_ERR_BAD_STORED_VALUE", error: (err as Error).message });
    return undefined;
  }
}
