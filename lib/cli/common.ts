/** What the CLI commands share: data flags, device flag, usage errors. */
import type { CAC } from "cac";
import type { Dataset } from "../data/dataset.ts";
import type { DuplicatePolicy } from "../data/matrix.ts";
import { loadDataset } from "../data/registry.ts";
import { MODELS } from "../models/registry.ts";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type DeviceRequest, parseDeviceRequest } from "../onnx/backend.ts";

/** An error caused by the user's input: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface DataFlags {
  dataset?: string;
  dataDir?: string;
  data?: string;
  format?: string;
  duplicates?: string;
  minRating?: number;
  seed?: number;
  columns?: string;
  delimiter?: string;
  header?: boolean;
  minUserInteractions?: number;
  minItemInteractions?: number;
  dataSplit?: string;
}

export function duplicatesPolicy(v: string | undefined): DuplicatePolicy {
  if (v === undefined || v === "sum" || v === "binary") return (v ?? "sum") as DuplicatePolicy;
  throw new UsageError(`--duplicates must be 'sum' or 'binary', got '${v}'`);
}

/** The argv of this run, for options whose values must stay raw strings (cac turns "00088" into 88). */
let rawArgv: readonly string[] = [];
export function setRawArgv(argv: readonly string[]): void {
  rawArgv = argv;
}

/** The last value given to `--name` on the command line, exactly as typed (`--name v` or `--name=v`). */
export function rawOption(name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawArgv.length; i++) {
    const a = rawArgv[i];
    if (a === `--${name}`) value = rawArgv[i + 1];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
  }
  return value;
}

/**
 * `--budget -5` would otherwise read as an unknown flag "-5": no option of
 * infrec takes a negative number, so say that about the option it was given to.
 */
export function rejectNegativeValues(argv: readonly string[]): void {
  for (let i = 0; i + 1 < argv.length; i++) {
    if (argv[i].startsWith("--") && !argv[i].includes("=") && /^-\d/.test(argv[i + 1])) {
      throw new UsageError(`${argv[i]} must not be negative, got '${argv[i + 1]}'`);
    }
  }
}

/** Throws naming the flag unless `path` can be written: its folder exists and is writable, and it is not a folder itself. */
export function checkWritable(flag: string, path: string): void {
  const full = resolve(path);
  if (existsSync(full) && statSync(full).isDirectory()) throw new UsageError(`${flag} ${path} is a folder, not a file`);
  const dir = dirname(full);
  if (!existsSync(dir)) throw new UsageError(`${flag} ${path}: folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${path}: folder ${dir} is not writable`);
  }
}

/** A --device other than cpu for a model that never uses ONNX Runtime is a mistake worth naming. */
export function checkOnnxDevice(model: string, device: DeviceRequest): void {
  const entry = MODELS[model];
  if (device !== "cpu" && entry && !entry.usesOnnx) {
    const onnx = Object.keys(MODELS).filter((name) => MODELS[name].usesOnnx);
    throw new UsageError(`--device ${device}: model '${model}' runs no ONNX graphs (only ${onnx.join(", ")} do)`);
  }
}

export async function loadFromFlags(flags: DataFlags): Promise<Dataset> {
  const duplicates = duplicatesPolicy(flags.duplicates);
  if (flags.dataDir !== undefined) {
    const dir = String(flags.dataDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--data-dir ${dir}: no such folder`);
  }
  if (flags.format !== undefined) {
    const { FILE_FORMATS } = await import("../data/load-file.ts");
    if (!(FILE_FORMATS as readonly string[]).includes(String(flags.format))) {
      throw new UsageError(`--format must be one of ${FILE_FORMATS.join(", ")}, got '${flags.format}'`);
    }
  }
  if (flags.data !== undefined) {
    const { loadDataFile } = await import("../data/load-file.ts");
    const { describeKCore } = await import("../data/kcore.ts");
    const minRating = flags.minRating === undefined ? undefined : Number(flags.minRating);
    if (minRating !== undefined && !Number.isFinite(minRating)) throw new UsageError(`--min-rating must be a number, got '${flags.minRating}'`);
    const raw = await rawLogFlags(flags);
    const kCoreAsked = raw.minUserInteractions !== undefined || raw.minItemInteractions !== undefined;
    return loadDataFile(String(flags.data), {
      ...raw,
      format: flags.format,
      duplicates,
      minRating,
      seed: flags.seed === undefined ? undefined : Number(flags.seed),
      // Said only when asked for: the default drop of users under 3 rows is the paper's preprocessing.
      onKCore: kCoreAsked ? (report) => console.error(describeKCore(report)) : undefined,
    });
  }
  for (const [flag, value] of Object.entries(rawLogFlagValues(flags))) {
    if (value !== undefined) throw new UsageError(`--${flag} applies to --data files, not to --dataset`);
  }
  if (flags.dataset === undefined || flags.dataset === "") throw new UsageError("name a dataset with --dataset NAME (or a file with --data PATH)");
  return loadDataset(String(flags.dataset), { dataDir: flags.dataDir, duplicates });
}

/** The flags that shape how a raw interaction log (--data) is read, filtered and split, as cac gave them. */
function rawLogFlagValues(flags: DataFlags): Record<string, unknown> {
  return {
    columns: flags.columns,
    delimiter: flags.delimiter,
    header: flags.header,
    "min-user-interactions": flags.minUserInteractions,
    "min-item-interactions": flags.minItemInteractions,
    "data-split": flags.dataSplit,
  };
}

/** --columns, --delimiter, --header, the k-core minimums and --data-split, checked; values as typed. */
async function rawLogFlags(flags: DataFlags) {
  const { parseColumnList } = await import("../data/text.ts");
  const { SPLIT_RULES } = await import("../data/holdout.ts");
  const typed = (name: string, cacValue: unknown) => rawOption(name) ?? (cacValue === undefined ? undefined : String(cacValue));
  const columnsText = typed("columns", flags.columns);
  let columns;
  try {
    columns = columnsText === undefined ? undefined : parseColumnList(columnsText);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  // cac reads a typed tab as the number 0, hence the raw value; "tab" and "\t" spare the shell quoting.
  const delimiterText = typed("delimiter", flags.delimiter);
  const delimiter = delimiterText === "tab" || delimiterText === "\\t" ? "\t" : delimiterText;
  if (delimiter !== undefined && (delimiter.length !== 1 || (delimiter !== "\t" && /["\s]/.test(delimiter)))) {
    throw new UsageError(`--delimiter must be one character (or 'tab'), not a quote or a space, got '${delimiterText}'`);
  }
  const minimum = (name: string, v: unknown) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`--${name} must be an integer ≥ 1, got '${v}'`);
    return n;
  };
  const split = flags.dataSplit === undefined ? undefined : String(flags.dataSplit);
  if (split !== undefined && !(SPLIT_RULES as readonly string[]).includes(split)) {
    throw new UsageError(`--data-split must be one of ${SPLIT_RULES.join(", ")}, got '${split}'`);
  }
  const format = flags.format === undefined ? "auto" : String(flags.format);
  const header = flags.header === undefined ? undefined : Boolean(flags.header);
  if ((delimiter !== undefined || header !== undefined) && !["auto", "csv", "tsv"].includes(format)) {
    throw new UsageError(`--${delimiter !== undefined ? "delimiter" : "header"} applies to csv and tsv files, not to --format ${format}`);
  }
  const options = {
    columns,
    delimiter,
    header,
    minUserInteractions: minimum("min-user-interactions", flags.minUserInteractions),
    minItemInteractions: minimum("min-item-interactions", flags.minItemInteractions),
    split: split as (typeof SPLIT_RULES)[number] | undefined,
  };
  if ((format === "paper" || format === "split") && Object.values(options).some((v) => v !== undefined)) {
    throw new UsageError(`--format ${format} is already split: --columns, --delimiter, --header, the k-core minimums and --data-split apply to raw logs`);
  }
  return options;
}

export function parseDevice(v: string | undefined): DeviceRequest {
  try {
    return parseDeviceRequest(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --engine: where ∞-AE's float32 fit lives (auto: device-resident on GPU devices). */
export function parseEngine(v: string | undefined): "auto" | "host" | "device" {
  const e = v ?? "auto";
  if (e !== "auto" && e !== "host" && e !== "device") throw new UsageError(`--engine must be auto, host or device, got '${e}'`);
  return e;
}

export function withDataFlags<T extends ReturnType<CAC["command"]>>(cmd: T): T {
  return cmd
    .option("--dataset <name>", "Dataset name (ml-1m, magazine, douban, …)")
    .option("--data-dir <dir>", "Folder holding datasets (default: $INFREC_DATA, then data/, then ../shared/data)")
    .option("--data <path>", "Read interactions from a file or folder instead of a named dataset")
    .option("--format <format>", "Format of --data: auto, paper, movielens, csv, tsv, recbole, netflix, parquet, split")
    .option("--min-rating <r>", "With --data: keep only rows rated at least r (implicit feedback)")
    .option("--columns <list>", "With --data: user,item[,rating[,timestamp]] columns by header name or 0-based position (e.g. userId,movieId,,ts)")
    .option("--delimiter <char>", "With --data: CSV field delimiter, one character or 'tab' (default: detected)")
    .option("--header", "With --data: the first line is a header (--no-header: it is data; default: detected)")
    .option("--min-user-interactions <n>", "With --data: k-core, drop users with fewer rows, repeated until stable (default 3)")
    .option("--min-item-interactions <n>", "With --data: k-core, drop items with fewer rows, repeated until stable (default 1)")
    .option("--data-split <rule>", "With --data: paper (per-user random 80/10/10), leave-one-out (last by time) or temporal (global time cut)")
    .option("--duplicates <policy>", "Repeated (user, item) rows: sum (official loader) or binary", { default: "sum" })
    .option("--json", "Print JSON instead of a table") as T;
}

