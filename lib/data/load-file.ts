/**
 * `--data PATH --format F`: a paper-format folder, a saved split, or a raw
 * interaction log that is preprocessed (k-core filter, by default users with
 * < 3 interactions dropped; then a split rule, by default the paper's seeded
 * per-user 80/10/10 split).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { Dataset } from "./dataset.ts";
import type { DuplicatePolicy } from "./matrix.ts";
import { loadPaperDataset } from "./paper.ts";
import { isPaperFormat } from "./registry.ts";
import { SPLIT_RULES, type SplitRule, splitByRule } from "./holdout.ts";
import { type KCoreReport, kCore } from "./kcore.ts";
import { isParquetFile, readParquet } from "./parquet.ts";
import { loadSplit } from "./split.ts";
import { type ColumnSpec, hasNetflixMovieFiles, type InteractionFormat, readInteractions, type ReadOptions } from "./text.ts";

export const FILE_FORMATS = ["auto", "paper", "split", "movielens", "csv", "tsv", "recbole", "netflix", "parquet"] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface LoadFileOptions {
  format?: string;
  duplicates?: DuplicatePolicy;
  /** Keep only rows with rating ≥ this (implicit feedback from ratings). */
  minRating?: number;
  /** k-core: users with fewer interaction rows are dropped. Default 3 (the paper's). */
  minUserInteractions?: number;
  /** k-core: items with fewer interaction rows are dropped. Default 1 (none). */
  minItemInteractions?: number;
  /** CSV/TSV: the field delimiter (detected when absent). */
  delimiter?: string;
  /** CSV/TSV: whether the first line is a header (detected when absent). */
  header?: boolean;
  /** Columns by name or position (see parseColumnList). */
  columns?: ColumnSpec;
  /** How validation and test rows are held out. Default "paper" (per-user random 80/10/10). */
  split?: SplitRule;
  seed?: number;
  /** Called with what the k-core filter dropped (raw logs only). */
  onKCore?: (report: KCoreReport) => void;
}

/** Options that only raw interaction logs have. */
const RAW_ONLY = ["minRating", "minUserInteractions", "minItemInteractions", "delimiter", "header", "columns", "split"] as const;

/**
 * A paper-format folder, a saved split, or a raw interaction log (a file, or
 * a folder of Netflix mv_*.txt files). A raw log is read, filtered to its
 * k-core (users ≥ 3 rows by default) and split by `split`.
 */
export async function loadDataFile(path: string, options: LoadFileOptions = {}): Promise<Dataset> {
  const format = (options.format ?? "auto") as FileFormat;
  if (!FILE_FORMATS.includes(format)) throw new Error(`unknown --format '${format}' (known: ${FILE_FORMATS.join(", ")})`);
  if (options.split !== undefined && !(SPLIT_RULES as readonly string[]).includes(options.split)) {
    throw new Error(`unknown split rule '${options.split}' (known: ${SPLIT_RULES.join(", ")})`);
  }
  if (!existsSync(path)) throw new Error(`missing file: ${path}`);
  const name = basename(path).replace(/\.[^.]*$/, "");
  const folder = statSync(path).isDirectory();
  const rawOnly = (kind: string) => {
    const given = RAW_ONLY.filter((k) => options[k] !== undefined);
    if (given.length > 0) throw new Error(`${path}: ${given.join(", ")} apply to raw interaction logs, not to ${kind}`);
  };
  if (format === "paper" || (format === "auto" && folder && (isPaperFormat(path) || !hasNetflixMovieFiles(path)))) {
    if (!isPaperFormat(path)) {
      throw new Error(`${path}: not a paper-format folder (needs total_data.hdf5 and index.npz) nor a folder of Netflix mv_*.txt files`);
    }
    rawOnly("a paper-format folder (already split)");
    return loadPaperDataset(path, { name, duplicates: options.duplicates });
  }
  if (format === "split" || (format === "auto" && !folder && startsWithSplitMagic(path))) {
    rawOnly("a saved split");
    return loadSplit(path);
  }
  const read: ReadOptions = { minRating: options.minRating, delimiter: options.delimiter, header: options.header, columns: options.columns };
  const raw =
    format === "parquet" || (format === "auto" && !folder && isParquetFile(path))
      ? await readParquet(path, read)
      : readInteractions(path, { ...read, format: format as InteractionFormat | "auto" });
  if (options.split === "temporal" && !raw.timestamps) {
    throw new Error(`${path}: a temporal split needs timestamps, and these interactions have no timestamp column`);
  }
  const core = kCore(raw, { minUserInteractions: options.minUserInteractions ?? 3, minItemInteractions: options.minItemInteractions ?? 1 });
  options.onKCore?.(core.report);
  return splitByRule(raw, options.split ?? "paper", { name, duplicates: options.duplicates, seed: options.seed, keep: core.keep });
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
