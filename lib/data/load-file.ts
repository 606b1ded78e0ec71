/**
 * `--data PATH --format F`: a paper-format folder, a saved split, or a raw
 * interaction log that is preprocessed (users with < 3 interactions dropped,
 * seeded per-user 80/10/10 split).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { Dataset } from "./dataset.ts";
import type { DuplicatePolicy } from "./matrix.ts";
import { loadPaperDataset } from "./paper.ts";
import { isPaperFormat } from "./registry.ts";
import { buildDataset, loadSplit } from "./split.ts";
import { hasNetflixMovieFiles, type InteractionFormat, readInteractions } from "./text.ts";

export const FILE_FORMATS = ["auto", "paper", "split", "movielens", "csv", "tsv", "recbole", "netflix"] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface LoadFileOptions {
  format?: string;
  duplicates?: DuplicatePolicy;
  /** Keep only rows with rating ≥ this (implicit feedback from ratings). */
  minRating?: number;
  /** Users with fewer interaction rows are dropped. Default 3 (the paper's). */
  minUserInteractions?: number;
  seed?: number;
}

export async function loadDataFile(path: string, options: LoadFileOptions = {}): Promise<Dataset> {
  const format = (options.format ?? "auto") as FileFormat;
  if (!FILE_FORMATS.includes(format)) throw new Error(`unknown --format '${format}' (known: ${FILE_FORMATS.join(", ")})`);
  if (!existsSync(path)) throw new Error(`missing file: ${path}`);
  const name = basename(path).replace(/\.[^.]*$/, "");
  const folder = statSync(path).isDirectory();
  if (format === "paper" || (format === "auto" && folder && (isPaperFormat(path) || !hasNetflixMovieFiles(path)))) {
    if (!isPaperFormat(path)) {
      throw new Error(`${path}: not a paper-format folder (needs total_data.hdf5 and index.npz) nor a folder of Netflix mv_*.txt files`);
    }
    return loadPaperDataset(path, { name, duplicates: options.duplicates });
  }
  if (format === "split" || (format === "auto" && !folder && startsWithSplitMagic(path))) return loadSplit(path);
  const raw = readInteractions(path, {
    format: format === "auto" ? "auto" : (format as InteractionFormat),
    minRating: options.minRating,
  });
  return buildDataset(raw, { name, duplicates: options.duplicates, seed: options.seed, minInteractions: options.minUserInteractions });
}

/** Files written by saveSplit start with this line. */
function startsWithSplitMagic(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return new TextDecoder().decode(buf.subarray(0, n)).startsWith("infrec-split");
  } finally {
    closeSync(fd);
  }
}
