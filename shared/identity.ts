// SPIFFE identities: spiffe://<trust-domain>/ns/<namespace>/sa/<service>.
export const DEFAULT_TRUST_DOMAIN = "cluster.local";
export const DEFAULT_NAMESPACE = "default";

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  service: string;
}

export function spiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.service}`;
}

export function serviceIdentity(service: string, trustDomain = DEFAULT_TRUST_DOMAIN, namespace = DEFAULT_NAMESPACE): string {
  return spiffeId({ trustDomain, namespace, service });
}

const SPIFFE = /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([a-z0-9-]+)\/sa\/([a-z0-9-]+)$/;

export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const m = SPIFFE.exec(uri);
  if (!m) return undefined;
  return { trustDomain: m[1]!, namespace: m[2]!, service: m[3]! };
}
