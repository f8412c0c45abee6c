// `tsmesh delete KIND NAME`
import type { Command } from "commander";
import { KINDS, resolveKind } from "../../schema/kinds.js";
import { action, api, CliError } from "../api-client.js";

export function register(program: Command): void {
  program
    .command("delete")
    .description("delete one resource")
    .argument("<kind>", "resource kind (e.g. routes, HTTPRoute)")
    .argument("<name>", "resource name")
    .action(
      action(async (word: string, name: string) => {
        const kind = resolveKind(word);
        if (!kind) throw new CliError(`unknown kind "${word}"`);
        await api("DELETE", `/api/v1/${KINDS[kind].plural}/${encodeURIComponent(name)}`);
        process.stdout.write(`${kind.toLowerCase()}/${name} deleted\n`);
      }),
    );
}
