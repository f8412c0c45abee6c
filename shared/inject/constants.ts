// Names, ports and annotation keys that the injected pod, the iptables script (deploy/iptables.sh)
// and the sidecar CLI must agree on. Changing one here means changing it there too.

/** Kept equal to package.json "version" (a unit test checks). Stamped on every injected pod. */
export const TSMESH_VERSION = "0.1.0";

export const INIT_CONTAINER = "tsmesh-init";
export const PROXY_CONTAINER = "tsmesh-proxy";
export const IDENTITY_VOLUME = "tsmesh-identity";
export const IDENTITY_MOUNT_PATH = "/var/run/tsmesh";
/** Trust anchors that verify the control plane: the ConfigMap every meshed namespace holds (deploy/k8s/README.md). */
export const CA_BUNDLE_CONFIGMAP = "tsmesh-ca-bundle";
export const CA_BUNDLE_VOLUME = "tsmesh-ca-bundle";
export const CA_BUNDLE_MOUNT_PATH = "/var/run/tsmesh-ca";
export const CA_BUNDLE_FILE = "bundle.crt";
/** Projected ServiceAccount token (audience tsmesh): the proof for the first certificate (--kube-token-review). */
export const SA_TOKEN_VOLUME = "tsmesh-token";
export const SA_TOKEN_MOUNT_PATH = "/var/run/secrets/tsmesh";
export const SA_TOKEN_AUDIENCE = "tsmesh";

export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;
export const ADMIN_PORT = 15020;

export const ANNOTATION_INJECT = "tsmesh.dev/inject";
export const ANNOTATION_INJECTED = "tsmesh.dev/injected";
export const ANNOTATION_VERSION = "tsmesh.dev/version";
export const ANNOTATION_APP_PORT = "tsmesh.dev/app-port";
export const ANNOTATION_EXCLUDE_INBOUND_PORTS = "tsmesh.dev/exclude-inbound-ports";
export const ANNOTATION_EXCLUDE_OUTBOUND_PORTS = "tsmesh.dev/exclude-outbound-ports";
export const ANNOTATION_EXCLUDE_OUTBOUND_CIDRS = "tsmesh.dev/exclude-outbound-cidrs";
/** "false" keeps the app's probes as written (Istio's sidecar.istio.io/rewriteAppHTTPProbers). */
export const ANNOTATION_REWRITE_APP_PROBERS = "tsmesh.dev/rewrite-app-probers";

/** Admin-port paths the rewritten probes use: /app-health/<container>/<readyz|livez|startupz>. */
export const APP_HEALTH_PREFIX = "/app-health/";
/** Proxy env holding the original probes, JSON keyed by their /app-health path. */
export const APP_PROBERS_ENV = "TSMESH_APP_PROBERS";

/** Where deploy/Dockerfile installs deploy/iptables.sh. */
export const IPTABLES_COMMAND = "/usr/local/bin/tsmesh-iptables";
/** Used when no container declares a port and no tsmesh.dev/app-port annotation is set. */
export const FALLBACK_APP_PORT = 8080;
