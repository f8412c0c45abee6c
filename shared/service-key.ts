// Services are namespaced: a service key is "<namespace>/<service>" everywhere the mesh names a
// service (endpoint registry, snapshot endpoints, routes, policies, authz, metric labels), and the
// identity a peer of that service must prove is spiffe://<td>/ns/<namespace>/sa/<service>.
// A reference without a namespace ("reviews") means the namespace of whoever wrote it: the
// resource's metadata.namespace, or the calling sidecar's own, as Kubernetes short names do.
import { DEFAULT_NAMESPACE } from "./identity.js";

export const serviceKey = (namespace: string, service: string): string => `${namespace}/${service}`;

/** "reviews" in `namespace` -> "<namespace>/reviews"; "shop/reviews" stays as written. */
export function qualifyService(ref: string, namespace: string = DEFAULT_NAMESPACE): string {
  return ref.includes("/") ? ref : serviceKey(namespace, ref);
}

/** "shop/reviews" -> { namespace: "shop", service: "reviews" }; a short name is in the default namespace. */
export function splitServiceKey(key: string): { namespace: string; service: string } {
  const slash = key.indexOf("/");
  return slash === -1 ? { namespace: DEFAULT_NAMESPACE, service: key } : { namespace: key.slice(0, slash), service: key.slice(slash + 1) };
}

/** The namespace a resource's short service names resolve in. */
export const namespaceOf = (resource: { metadata: { namespace?: string } }): string => resource.metadata.namespace ?? DEFAULT_NAMESPACE;
