// `tsmesh token create --service NAME [--ttl 1h] [--namespace NS]`: prints a one-time bootstrap
// token (stdout, nothing else, so it can be captured by scripts).
import type { Command } from "commander";
import { action, api, CliError } from "../api-client.js";

export function register(program: Command): void {
  const token = program.command("token").description("bootstrap tokens for a sidecar's first certificate");
  token
    .command("create")
    .description("create a one-time bootstrap token bound to a service")
    .requiredOption("--service <name>", "service the token is bound to")
    .option("--ttl <duration>", "lifetime, e.g. 10m, 1h", "1h")
    .option("--namespace <ns>", "namespace of the service's identity")
    .action(
      action(async (flags: { service: string; ttl: string; namespace?: string }) => {
        const reply = await api("POST", "/api/v1/tokens", { service: flags.service, ttl: flags.ttl, ...(flags.namespace ? { namespace: flags.namespace } : {}) });
        if (typeof reply.body.token !== "string") throw new CliError("the control plane returned no token");
        process.stdout.write(`${reply.body.token}\n`);
      }),
    );
}
