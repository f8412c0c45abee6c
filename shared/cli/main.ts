#!/usr/bin/env node
// The tsmesh CLI: each command registers itself from shared/cli/commands/<name>.ts.
import { Command } from "commander";
import { register as registerInject } from "./commands/inject.js";
import { register as registerCerts } from "./commands/certs.js";
import { register as registerControlPlane } from "./commands/control-plane.js";
import { register as registerApply } from "./commands/apply.js";
import { register as registerGet } from "./commands/get.js";
import { register as registerDelete } from "./commands/delete.js";
import { register as registerToken } from "./commands/token.js";
import { register as registerSidecar } from "./commands/sidecar.js";
import { register as registerRun } from "./commands/run.js";
import { register as registerDemo } from "./commands/demo.js";

const program = new Command();
program.name("tsmesh").description("tsmesh service mesh");
registerInject(program);
registerCerts(program);
registerControlPlane(program);
registerApply(program);
registerGet(program);
registerDelete(program);
registerToken(program);
registerSidecar(program);
registerRun(program);
registerDemo(program);

await program.parseAsync(process.argv);
