#!/usr/bin/env node
// Node entry point: registers tsx so the TypeScript sources run as they are.
import { register } from "tsx/esm/api";
register();
const { runCli } = await import("../lib/cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2));
