// `tsmesh get KIND [NAME] [-o json|yaml]`: policy kinds plus the read-only views (services,
// endpoints, sidecars). Without -o prints a table.
import type { Command } from "commander";
import { stringify } from "yaml";
import { KINDS, resolveKind } from "../../schema/kinds.js";
import { action, api, CliError } from "../api-client.js";

const VIEWS = ["services", "endpoints", "sidecars"] as const;
type Row = Record<string, unknown>;

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

function age(iso: unknown): string {
  const ms = typeof iso === "string" ? Date.now() - Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) return "-";
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172_800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86_400)}d`;
}

function render(view: string, items: Row[]): string {
  if (view === "services") {
    return table(["NAMESPACE", "NAME", "ENDPOINTS", "ROUTES"], items.map((s) => [String(s.namespace ?? "default"), String(s.name), String(s.endpoints), (s.routes as string[]).join(",") || "-"]));
  }
  if (view === "endpoints") {
    return table(["NAMESPACE", "SERVICE", "INSTANCE", "ADDRESS"], items.map((e) => [String(e.namespace ?? "default"), String(e.service), String(e.instanceId), `${String(e.address)}:${String(e.port)}`]));
  }
  if (view === "sidecars") return stringify(items);
  return table(
    ["NAME", "GENERATION", "RESOURCE-VERSION", "AGE"],
    items.map((r) => {
      const m = r.metadata as Row;
      return [String(m.name), String(m.generation ?? "-"), String(m.resourceVersion ?? "-"), age(m.creationTimestamp)];
    }),
  );
}

export function register(program: Command): void {
  program
    .command("get")
    .description(`show resources: ${Object.values(KINDS).map((k) => k.plural).join(", ")}, ${VIEWS.join(", ")}`)
    .argument("<kind>", "resource kind (e.g. routes, HTTPRoute) or a view (services, endpoints, sidecars)")
    .argument("[name]", "one resource by name")
    .option("-o, --output <format>", "json or yaml")
    .action(
      action(async (word: string, name: string | undefined, flags: { output?: string }) => {
        if (flags.output !== undefined && flags.output !== "json" && flags.output !== "yaml") throw new CliError(`-o must be json or yaml`);
        const kind = resolveKind(word);
        const view = kind ? KINDS[kind].plural : VIEWS.find((v) => v === word.toLowerCase() || v === `${word.toLowerCase()}s`);
        if (!view) throw new CliError(`unknown kind "${word}"`);
        if (name && !kind) throw new CliError(`${view} cannot be fetched by name`);
        const reply = await api("GET", name ? `/api/v1/${view}/${encodeURIComponent(name)}` : `/api/v1/${view}`);
        const out: unknown = name ? reply.body : reply.body.items;
        if (flags.output === "json") process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        else if (flags.output === "yaml") process.stdout.write(stringify(out));
        else process.stdout.write(render(view, name ? [reply.body] : (reply.body.items as Row[])));
      }),
    );
}
