#!/usr/bin/env node
// The tsmesh CLI: each command registers itself from shared/cli/commands/<name>.ts.
import { Command } from "commander";
import { register as registerInject } from "./commands/inject.js";

const program = new Command();
program.name("tsmesh").description("tsmesh service mesh");
registerInject(program);

await program.parseAsync(process.argv);
