// `tsmesh apply -f FILE` (YAML or JSON, multi-document; '-' reads stdin). Every document is
// validated locally with the shared schema first; if any is invalid nothing is sent.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { KINDS, type Kind } from "../../schema/kinds.js";
import { validateResource } from "../../schema/validate.js";
import { action, api, CliError } from "../api-client.js";

async function readInput(file: string): Promise<string> {
  if (file !== "-") return readFile(file, "utf8").catch((err: Error) => Promise.reject(new CliError(err.message)));
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Documents of a YAML/JSON stream; a `kind: List` or a top-level array is flattened. */
export function parseDocuments(text: string): unknown[] {
  const out: unknown[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new CliError(`document ${i + 1}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out.push(...(value as unknown[]));
    else if ((value as { kind?: unknown }).kind === "List") out.push(...((value as { items?: unknown[] }).items ?? []));
    else out.push(value);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command("apply")
    .description("create or update resources from a YAML/JSON file (multi-document)")
    .requiredOption("-f, --file <file>", "resource file; '-' reads stdin")
    .action(
      action(async (flags: { file: string }) => {
        const docs = parseDocuments(await readInput(flags.file));
        if (docs.length === 0) throw new CliError("no resources found");
        const problems: string[] = [];
        docs.forEach((doc, i) => {
          const v = validateResource(doc);
          const name = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
          if (!v.ok) problems.push(`document ${i + 1}${typeof name === "string" ? ` (${name})` : ""}: ${v.error}`);
        });
        if (problems.length > 0) throw new CliError(`invalid input, nothing applied:\n  ${problems.join("\n  ")}`);
        for (const doc of docs as { kind: Kind; metadata: { name: string } }[]) {
          const reply = await api("PUT", `/api/v1/${KINDS[doc.kind].plural}/${encodeURIComponent(doc.metadata.name)}`, doc);
          process.stdout.write(`${doc.kind.toLowerCase()}/${doc.metadata.name} ${reply.status === 201 ? "created" : "configured"}\n`);
        }
      }),
    );
}
