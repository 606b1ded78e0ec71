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
    const minRating = flags.minRating === undefined ? undefined : Number(flags.minRating);
    if (minRating !== undefined && !Number.isFinite(minRating)) throw new UsageError(`--min-rating must be a number, got '${flags.minRating}'`);
    return loadDataFile(String(flags.data), { format: flags.format, duplicates, minRating, seed: flags.seed === undefined ? undefined : Number(flags.seed) });
  }
  if (flags.dataset === undefined || flags.dataset === "") throw new UsageError("name a dataset with --dataset NAME (or a file with --data PATH)");
  return loadDataset(String(flags.dataset), { dataDir: flags.dataDir, duplicates });
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
    .option("--format <format>", "Format of --data: auto, paper, movielens, csv, tsv, recbole, netflix, split")
    .option("--min-rating <r>", "With --data: keep only rows rated at least r (implicit feedback)")
    .option("--duplicates <policy>", "Repeated (user, item) rows: sum (official loader) or binary", { default: "sum" })
    .option("--json", "Print JSON instead of a table") as T;
}

