// `tsmesh control-plane [--etcd URLS] [--api-port 15000] [--grpc-port 15012] [--data-dir DIR]
// [--token T] [--host 127.0.0.1]`: runs until SIGTERM/SIGINT, then shuts down gracefully.
import type { Command } from "commander";
import { startControlPlane } from "../../../control-plane/main.js";
import { createLogger } from "../../log.js";

interface Flags {
  etcd?: string;
  apiPort: string;
  grpcPort: string;
  dataDir: string;
  token?: string;
  host: string;
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number, got "${value}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command("control-plane")
    .description("run the control plane (REST API, gRPC; embedded etcd unless --etcd)")
    .option("--etcd <urls>", "comma-separated etcd client URLs; without it an embedded etcd runs in the data dir")
    .option("--api-port <port>", "REST API port", "15000")
    .option("--grpc-port <port>", "gRPC port (certificates, config push)", "15012")
    .option("--data-dir <dir>", "data directory (embedded etcd, admin-token)", ".tsmesh")
    .option("--token <token>", "admin API token (default: $TSMESH_TOKEN, else generated into <data-dir>/admin-token)")
    .option("--host <addr>", "listen address", "127.0.0.1")
    .action(async (flags: Flags) => {
      const log = createLogger("control-plane");
      const cp = await startControlPlane({
        etcd: flags.etcd ? flags.etcd.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
        apiPort: port(flags.apiPort, "--api-port"),
        grpcPort: port(flags.grpcPort, "--grpc-port"),
        dataDir: flags.dataDir,
        token: flags.token ?? process.env.TSMESH_TOKEN ?? undefined,
        host: flags.host,
        log,
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("shutting down", { signal });
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        cp.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}
