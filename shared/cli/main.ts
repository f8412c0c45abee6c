#!/usr/bin/env node
// The tsmesh CLI: each command registers itself from shared/cli/commands/<name>.ts. Only the
// command being run is imported: every command module pulls in its own dependency tree (control
// plane, CA, webhook, demo...), and a sidecar process should not carry the others' ~20 MB.
// Without a known command (tsmesh, --help, help <cmd>, a typo) all are loaded so commander's
// help and "unknown command" suggestions list them.
import { Command } from "commander";

type Register = (program: Command) => void;
const commands: Record<string, () => Promise<{ register: Register }>> = {
  inject: () => import("./commands/inject.js"),
  certs: () => import("./commands/certs.js"),
  "control-plane": () => import("./commands/control-plane.js"),
  apply: () => import("./commands/apply.js"),
  get: () => import("./commands/get.js"),
  delete: () => import("./commands/delete.js"),
  token: () => import("./commands/token.js"),
  sidecar: () => import("./commands/sidecar.js"),
  run: () => import("./commands/run.js"),
  demo: () => import("./commands/demo.js"),
  version: () => import("./commands/version.js"),
};

const program = new Command();
program.name("tsmesh").description("tsmesh service mesh");
const named = commands[process.argv[2] ?? ""];
for (const load of named ? [named] : Object.values(commands)) (await load()).register(program);

await program.parseAsync(process.argv);
