/**
 * Resolving dataset names to folders. A name is looked up, in order, in the
 * `--data-dir` folder, the `INFREC_DATA` folder, the repository's `data/`
 * (which embeds Magazine) and `../shared/data` beside the repository.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Dataset } from "./dataset.ts";
import type { DuplicatePolicy } from "./matrix.ts";
import { loadPaperDataset } from "./paper.ts";

/**
 * The package folder: the nearest folder above this module holding
 * package.json. Searched rather than fixed at "../..", because the built CLI
 * (dist/cli.js) runs this code one level below the root, not two.
 */
export const REPO_ROOT = packageRoot(fileURLToPath(new URL(".", import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return fileURLToPath(new URL("../..", import.meta.url));
}

export function dataDirectories(dataDir?: string): string[] {
  const dirs: string[] = [];
  if (dataDir) dirs.push(resolve(dataDir));
  const env = typeof process !== "undefined" ? process.env.INFREC_DATA : undefined;
  if (env) dirs.push(resolve(env));
  dirs.push(join(REPO_ROOT, "data"), resolve(REPO_ROOT, "..", "shared", "data"));
  return dirs;
}

/** True when the folder holds the paper's preprocessed files. */
export function isPaperFormat(dir: string): boolean {
  return existsSync(join(dir, "total_data.hdf5")) && existsSync(join(dir, "index.npz"));
}

/** The folder of a named dataset, or an error listing where it looked. */
export function findDataset(name: string, dataDir?: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad dataset name '${name}'`);
  const tried: string[] = [];
  for (const d of dataDirectories(dataDir)) {
    const dir = join(d, name);
    tried.push(dir);
    if (existsSync(dir) && statSync(dir).isDirectory() && isPaperFormat(dir)) return dir;
  }
  throw new Error(`dataset '${name}' not found (looked in ${tried.join(", ")})`);
}

/** Names of the datasets found in every data directory. */
export async function listDatasets(dataDir?: string): Promise<{ name: string; dir: string }[]> {
  const { readdirSync } = await import("node:fs");
  const seen = new Map<string, string>();
  for (const d of dataDirectories(dataDir)) {
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d)) {
      const dir = join(d, e);
      if (!seen.has(e) && statSync(dir).isDirectory() && isPaperFormat(dir)) seen.set(e, dir);
    }
  }
  return [...seen].map(([name, dir]) => ({ name, dir }));
}

export interface LoadOptions {
  dataDir?: string;
  duplicates?: DuplicatePolicy;
}

export async function loadDataset(name: string, options: LoadOptions = {}): Promise<Dataset> {
  const dir = findDataset(name, options.dataDir);
  return loadPaperDataset(dir, { name, duplicates: options.duplicates });
}
