#!/usr/bin/env node
// Node entry point. Runs the built CLI, dist/cli.js (`npm run build`, which
// `npm ci` and `npm install` run as `prepare`), so no TypeScript is compiled
// at start-up. When dist/ is missing or older than a file under lib/ (sources
// edited since the last build), the sources run through tsx instead, as
// before the build existed; a terminal is told so in one line. Without tsx
// (a dev dependency) a stale build still runs; a missing one is an error.
import { readdirSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);
const built = new URL("dist/cli.js", root);
const sources = new URL("lib/", root);

function modifiedAt(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return -Infinity;
  }
}

/**
 * The newest modification time under lib/, folders included (they change when
 * a file is added or removed); -Infinity without lib/, as in a trimmed install.
 */
function newestSource() {
  let newest = modifiedAt(sources);
  let paths;
  try {
    paths = readdirSync(sources, { recursive: true });
  } catch {
    return newest;
  }
  for (const p of paths) newest = Math.max(newest, modifiedAt(new URL(p, sources)));
  return newest;
}

const hint = (line) => {
  if (process.stderr.isTTY) console.error(`infrec: ${line}`);
};

let entry = built;
const builtAt = modifiedAt(built);
if (builtAt < newestSource()) {
  const why = builtAt === -Infinity ? "dist/ is missing" : "dist/ is older than lib/";
  let tsx;
  try {
    tsx = await import("tsx/esm/api");
  } catch {
    tsx = undefined;
  }
  if (tsx) {
    tsx.register();
    entry = new URL("lib/cli/main.ts", root);
    hint(`${why}: running the sources with tsx (slow start; \`npm run build\` fixes that)`);
  } else if (builtAt === -Infinity) {
    console.error("infrec: dist/cli.js is missing and tsx is not installed to run the sources: run `npm run build`");
    process.exit(1);
  } else {
    hint(`${why}: running the old build (\`npm run build\` to rebuild)`);
  }
}
if (process.env.INFREC_DEBUG) process.setSourceMapsEnabled(true);
const { runCli } = await import(entry.href);
process.exitCode = await runCli(process.argv.slice(2));
