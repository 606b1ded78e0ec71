/** What the CLI commands share: data flags, device flag, usage errors. */
import type { CAC } from "cac";
import type { Dataset } from "../data/dataset.ts";
import type { DuplicatePolicy } from "../data/matrix.ts";
import { loadDataset } from "../data/registry.ts";
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

export async function loadFromFlags(flags: DataFlags): Promise<Dataset> {
  const duplicates = duplicatesPolicy(flags.duplicates);
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

