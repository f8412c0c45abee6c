// Who is on the other end of a stream: the node it claims, checked against its mTLS client
// certificate. The certificate is verified against the trust bundle with the CA's own renewal
// check (proveIdentity), and its SPIFFE ID must name the node's service.
import { X509Certificate } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { parseSpiffeId } from "../../shared/identity.js";
import type { NodeInfo } from "../../shared/node-info.js";
import type { NodeMsg } from "../../shared/proto/load.js";
import { dnsName } from "../../shared/schema/common.js";
import { CaError } from "../ca/errors.js";
import type { CaMaterial } from "../ca/files.js";
import { proveIdentity } from "../ca/signer.js";
import { PushError } from "./errors.js";

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ADDRESS = /^[A-Za-z0-9.:-]{1,253}$/;

/** Checks the Node of a first request; the instance id becomes an etcd key segment. */
export function parseNode(node: NodeMsg | null | undefined): NodeInfo {
  if (!node) throw new PushError("TSMESH_ERR_BAD_NODE", "the first request must carry node");
  if (!dnsName.safeParse(node.service).success) throw new PushError("TSMESH_ERR_BAD_NODE", `node.service "${node.service}" is not a service name`);
  if (!INSTANCE_ID.test(node.instanceId)) throw new PushError("TSMESH_ERR_BAD_NODE", "node.instance_id must be 1-128 of [A-Za-z0-9._:-]");
  if (node.address && !ADDRESS.test(node.address)) throw new PushError("TSMESH_ERR_BAD_NODE", "node.address must be a host or IP");
  if (node.inboundPort > 65535) throw new PushError("TSMESH_ERR_BAD_NODE", "node.inbound_port must be 1..65535");
  if (node.namespace && !dnsName.safeParse(node.namespace).success) throw new PushError("TSMESH_ERR_BAD_NODE", `node.namespace "${node.namespace}" is not a namespace name`);
  return {
    service: node.service,
    instanceId: node.instanceId,
    ...(node.address ? { address: node.address } : {}),
    ...(node.inboundPort ? { inboundPort: node.inboundPort } : {}),
    labels: { ...node.labels },
    ...(node.namespace ? { namespace: node.namespace } : {}),
  };
}

export interface AuthDeps {
  etcd: Etcd3;
  material: () => CaMaterial;
  trustDomain: string;
}

/**
 * Returns the peer's SPIFFE ID; throws PushError unless it verifies and names `node.service` (and
 * `node.namespace` when claimed). The stream registers its endpoint as that namespace/service, so
 * a certificate of another namespace can never stand in for a service.
 */
export async function authenticate(deps: AuthDeps, peerDer: Buffer | undefined, node: NodeInfo): Promise<string> {
  let peer: X509Certificate | undefined;
  try {
    peer = peerDer ? new X509Certificate(peerDer) : undefined;
  } catch {
    peer = undefined;
  }
  if (!peer) throw new PushError("TSMESH_ERR_NO_IDENTITY", "a client certificate from this mesh's CA is required on the config stream");
  let id: string;
  try {
    // With no token, proveIdentity is the CA's renewal check: chain to the bundle, validity, trust domain.
    id = (await proveIdentity({ etcd: deps.etcd, material: deps.material, trustDomain: deps.trustDomain }, "", peer)).spiffeId;
  } catch (err) {
    if (err instanceof CaError) throw new PushError("TSMESH_ERR_NO_IDENTITY", err.message);
    throw err;
  }
  const proved = parseSpiffeId(id);
  if (proved?.service !== node.service) throw new PushError("TSMESH_ERR_IDENTITY_MISMATCH", `certificate is ${id}, which may not subscribe as service "${node.service}"`);
  if (node.namespace !== undefined && proved.namespace !== node.namespace) {
    throw new PushError("TSMESH_ERR_IDENTITY_MISMATCH", `certificate is ${id}, which may not subscribe as service "${node.namespace}/${node.service}"`);
  }
  return id;
}
