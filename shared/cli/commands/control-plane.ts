// `tsmesh control-plane [--etcd URLS [--etcd-ca F] [--etcd-cert F --etcd-key F]] [--api-port 15000]
// [--grpc-port 15012] [--data-dir DIR] [--token T] [--host 127.0.0.1] [--cert-ttl 24h]
// [--webhook-port 15017 --webhook-cert F --webhook-key F]`: runs
// until SIGTERM/SIGINT, then shuts down gracefully. The admission webhook runs only with --webhook-port.
import type { Command } from "commander";
import { caPlugin, inClusterTokenReviewer } from "../../../control-plane/ca/index.js";
import { startControlPlane } from "../../../control-plane/main.js";
import { DEFAULT_GRPC_PLUGINS, type GrpcPlugin } from "../../../control-plane/plugins.js";
import { startWebhook, type Webhook } from "../../../control-plane/webhook/index.js";
import { createLogger } from "../../log.js";
import { parseWorkloadTtl } from "../../workload-ttl.js";
import { etcdTlsFromFlags, type EtcdTlsFlags } from "../etcd-tls-flags.js";
import { port } from "../flag-values.js";

interface Flags extends EtcdTlsFlags {
  apiPort: string;
  grpcPort: string;
  dataDir: string;
  token?: string;
  host: string;
  webhookPort?: string;
  webhookCert?: string;
  webhookKey?: string;
  kubeTokenReview?: boolean;
  certTtl?: string;
  debug?: boolean;
}

export function register(program: Command): void {
  program
    .command("control-plane")
    .description("run the control plane (REST API, gRPC; embedded etcd unless --etcd)")
    .option("--etcd <urls>", "comma-separated etcd client URLs; without it an embedded etcd (TLS, client certificates in <data-dir>/etcd-tls) runs in the data dir")
    .option("--etcd-ca <file>", "CA that signed the external etcd's serving certificate (PEM; default: system roots)")
    .option("--etcd-cert <file>", "client certificate presented to the external etcd (PEM)")
    .option("--etcd-key <file>", "key of --etcd-cert (PEM)")
    .option("--api-port <port>", "REST API port", "15000")
    .option("--grpc-port <port>", "gRPC port (certificates, config push)", "15012")
    .option("--data-dir <dir>", "data directory (embedded etcd, admin-token)", ".tsmesh")
    .option("--token <token>", "admin API token (default: $TSMESH_TOKEN, else generated into <data-dir>/admin-token)")
    .option("--host <addr>", "listen address", "127.0.0.1")
    .option("--webhook-port <port>", "serve the admission webhook (HTTPS) on this port; none without it")
    .option("--webhook-cert <file>", "webhook serving certificate (PEM; re-read when it changes)")
    .option("--webhook-key <file>", "webhook serving key (PEM)")
    .option("--cert-ttl <duration>", "workload certificate lifetime, 10m to 720h; MeshConfig spec.certificates.workloadTTL wins over it (default: $TSMESH_CERT_TTL, else 24h)")
    .option("--debug", "on a startup failure, print the stack trace too")
    .option("--kube-token-review", "in a Kubernetes pod: also accept sidecars' ServiceAccount tokens (audience tsmesh) for first certificates, checked with the TokenReview API")
    .action(async (flags: Flags) => {
      const log = createLogger("control-plane");
      const webhookPort = flags.webhookPort === undefined ? undefined : port("webhook-port", flags.webhookPort);
      const usage = (msg: string): never => {
        process.stderr.write(`error: ${msg}\n`);
        process.exit(2);
      };
      if (webhookPort === undefined && (flags.webhookCert || flags.webhookKey)) usage("--webhook-cert/--webhook-key need --webhook-port");
      if (webhookPort !== undefined && (!flags.webhookCert || !flags.webhookKey)) usage("--webhook-port needs --webhook-cert and --webhook-key");
      const etcd = flags.etcd ? flags.etcd.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
      let etcdTls;
      try {
        etcdTls = etcdTlsFromFlags(flags, etcd ?? []);
      } catch (err) {
        usage((err as Error).message);
      }
      const certTtl = flags.certTtl ?? (process.env.TSMESH_CERT_TTL || undefined);
      let plugins: GrpcPlugin[] | undefined;
      if (flags.kubeTokenReview || certTtl !== undefined) {
        try {
          const defaultTtlMs = certTtl === undefined ? undefined : parseWorkloadTtl(certTtl);
          const tokenReviewer = flags.kubeTokenReview ? inClusterTokenReviewer() : undefined;
          plugins = DEFAULT_GRPC_PLUGINS.map((p) => (p.name === "ca" ? caPlugin({ tokenReviewer, defaultTtlMs }) : p));
        } catch (err) {
          const msg = (err as Error).message;
          usage(msg.startsWith("--") ? msg : `${flags.certTtl !== undefined ? "--cert-ttl" : "TSMESH_CERT_TTL"} ${msg}`);
        }
      }
      // Handlers first: a signal during startup (embedded etcd still coming up) must not kill the
      // process with the default action and orphan the etcd child. Until startup is done there is
      // nothing to close yet; the signal is remembered and acted on right after.
      let stopping = false;
      const started: { closeAll?: () => Promise<unknown> } = {};
      const shutdown = () =>
        started.closeAll!().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("shutting down", { signal, starting: !started.closeAll });
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        if (started.closeAll) void shutdown();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      // A failure to start is one line (what to do next); the stack only with --debug.
      const cp = await startControlPlane({
        etcd,
        etcdTls,
        apiPort: port("api-port", flags.apiPort),
        grpcPort: port("grpc-port", flags.grpcPort),
        dataDir: flags.dataDir,
        token: flags.token ?? process.env.TSMESH_TOKEN ?? undefined,
        host: flags.host,
        plugins,
        log,
      }).catch((err: unknown): never => {
        const e = err as Error & { code?: string };
        process.stderr.write(`error: ${e.message}${e.code?.startsWith("TSMESH_ERR_") ? ` (${e.code})` : ""}\n`);
        if (flags.debug) process.stderr.write(`${e.stack}\n`);
        process.exit(1);
      });
      let webhook: Webhook | undefined;
      if (webhookPort !== undefined) {
        try {
          webhook = await startWebhook({ port: webhookPort, host: flags.host, certFile: flags.webhookCert, keyFile: flags.webhookKey, logger: log.child({ component: "webhook" }) });
        } catch (err) {
          await cp.close();
          throw err;
        }
      }
      started.closeAll = () => Promise.all([webhook?.close(), cp.close()]);
      if (stopping) void shutdown();
    });
}
