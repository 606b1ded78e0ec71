/**
 * `infrec recommend`: top-k items from a saved model (∞-AE, EASE, PopRec) for
 * users of the dataset it was fitted on (--user, --users, --all; their items
 * travel in the artifact) or for a new user given by items (--items), scored
 * in blocks of users. `evaluateSavedModel` is `evaluate --model FILE`.
 */
import type { CAC } from "cac";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { InteractionMatrix } from "../data/matrix.ts";
import { evaluate, type EvalSplit, type TieRule } from "../eval/evaluate.ts";
import type { PspNormalisation } from "../eval/metrics.ts";
import type { UserHistories } from "../models/artifact-format.ts";
import { type ModelArtifact, type RankedItems, recommendTopK, savedModel, type SavedModel } from "../models/artifact.ts";
import { readArtifactFile, writeFileAtomic } from "../models/artifact-file.ts";
import { getBackend } from "../onnx/backend.ts";
import { formatSeconds, Progress, table } from "../util/terminal.ts";
import { checkOnnxDevice, checkWritable, type DataFlags, loadFromFlags, parseDevice, rawOption, UsageError } from "./common.ts";
import { csvField } from "../util/csv.ts";

export type RecommendFormat = "csv" | "jsonl";

interface RecommendFlags {
  model?: string;
  user?: string | number;
  users?: string;
  all?: boolean;
  items?: string | number;
  k: string | number;
  out?: string;
  format?: string;
  device?: string;
  json?: boolean;
}

/** --format, else the --out extension (.csv; .jsonl or .ndjson), else CSV on stdout. */
export function recommendFormat(format: string | undefined, out: string | undefined, json: boolean): RecommendFormat {
  if (format !== undefined) {
    if (format === "csv" || format === "jsonl") return format;
    throw new UsageError(`--format must be csv or jsonl, got '${format}'`);
  }
  if (out !== undefined) {
    const ext = extname(out).toLowerCase();
    if (ext === ".csv") return "csv";
    if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
    throw new UsageError(`--out ${out}: cannot tell the format from '${ext || "no extension"}'; use .csv, .jsonl or .ndjson, or give --format csv|jsonl`);
  }
  return json ? "jsonl" : "csv";
}

/**
 * The shortest decimal that reads back as the same float32: scores are
 * float32, and printing their float64 widening would show noise digits.
 */
export function formatFloat32(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  // Binary search over 1…9 significant digits (9 always read back; more digits never read back worse).
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    if (Math.fround(Number(x.toPrecision(p))) === x) hi = p;
    else lo = p + 1;
  }
  return String(Number(x.toPrecision(lo)));
}

export const CSV_HEADER = "user,item,rank,score\n";

/** Rows `user,item,rank,score` (CSV) or one JSON object per row (JSON Lines) for ranked lists. */
export function formatRecommendations(lists: readonly RankedItems[], userIds: readonly string[], itemIds: readonly string[], format: RecommendFormat): string {
  let text = "";
  for (const list of lists) {
    const user = userIds[list.user];
    for (let r = 0; r < list.items.length; r++) {
      const item = itemIds[list.items[r]];
      const score = formatFloat32(list.scores[r]);
      text += format === "csv"
        ? `${csvField(user)},${csvField(item)},${r + 1},${score}\n`
        : `${JSON.stringify({ user, item, rank: r + 1, score: Number(score) })}\n`;
    }
  }
  return text;
}

/** Rows of `users.seen` for ids, in order, repeats dropped; unknown ids are one error naming a few. */
export function userRows(users: UserHistories, ids: readonly string[], what: string): Int32Array {
  const index = new Map<string, number>();
  users.ids.forEach((id, u) => index.set(id, u));
  const rows: number[] = [];
  const taken = new Set<number>();
  const unknown: string[] = [];
  for (const id of ids) {
    const u = index.get(id);
    if (u === undefined) unknown.push(id);
    else if (!taken.has(u)) {
      taken.add(u);
      rows.push(u);
    }
  }
  if (unknown.length === 1) throw new UsageError(`unknown user '${unknown[0]}': not a user of the dataset ${what} was fitted on`);
  if (unknown.length > 1) {
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : "";
    throw new UsageError(`${unknown.length} unknown users (${unknown.slice(0, 5).map((id) => `'${id}'`).join(", ")}${more}): not users of the dataset ${what} was fitted on`);
  }
  return Int32Array.from(rows);
}

/** The ids in a --users file: one per line, surrounding spaces and blank lines ignored, kept as typed (00088 stays 00088). */
export function readUserIds(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`--users ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UsageError(`--users ${path} is a folder, not a file`);
  const ids = readFileSync(path, "utf8").split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  if (ids.length === 0) throw new UsageError(`--users ${path} lists no user ids (one per line)`);
  return ids;
}

function positiveK(v: string | number): number {
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`-k must be a positive integer, got '${v}'`);
  return k;
}

function checkArtifactPath(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--model ${path} is a folder, not an artifact file`);
}

async function loadSaved(path: string, deviceFlag: string | undefined): Promise<SavedModel> {
  const device = parseDevice(deviceFlag);
  const artifact = readArtifactFile(path);
  checkOnnxDevice(artifact.model, device);
  return savedModel(artifact, () => getBackend({ device }));
}

/** A new user's row from item ids (unknown ids reported, not scored). */
function newUserRow(artifact: ModelArtifact, ids: readonly string[]): { row: InteractionMatrix; unknown: string[] } {
  const index = new Map<string, number>();
  artifact.itemIds.forEach((id, i) => index.set(id, i));
  const known = new Set<number>();
  const unknown: string[] = [];
  for (const id of ids) {
    const i = index.get(id);
    if (i === undefined) unknown.push(id);
    else known.add(i);
  }
  const items = [...known];
  return { row: InteractionMatrix.fromTriplets(1, artifact.itemIds.length, items.map(() => 0), items), unknown };
}

/** Stdout's reader went away: nothing more to write. */
class PipeClosed extends Error {}

/** A reader that stops early (`| head`) closes the pipe: the rest is dropped quietly, not a crash. */
let stdoutClosed = false;
let stdoutGuarded = false;
function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    stdoutClosed = true;
  });
}

export function registerRecommendCommand(cli: CAC): void {
  cli.command("recommend", "Top-k unseen items from a saved model (fit --out) for users of its dataset, or for a new user's items")
    .option("--model <file>", "Artifact written by infrec fit --out (inf-ae, ease or pop)")
    .option("--user <id>", "One user of the dataset the model was fitted on")
    .option("--users <file>", "Users of that dataset, one id per line")
    .option("--all", "Every user of that dataset")
    .option("--items <ids>", "A new user's items: comma-separated original item ids (prints a table, or --json)")
    .option("-k, --k <k>", "Items per user", { default: 10 })
    .option("--out <file>", "Write the rows here (atomically) instead of stdout")
    .option("--format <format>", "csv or jsonl (default: from the --out extension, else csv)")
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--json", "--items: print JSON; --user/--users/--all: JSON Lines")
    .action(async (flags: RecommendFlags) => {
      if (flags.model === undefined) throw new UsageError("name the artifact with --model FILE");
      // Ids are strings end to end: cac would read "00088" as 88 and "" as 0.
      const rawItems = rawOption("items") ?? (flags.items === undefined ? undefined : String(flags.items));
      const rawUser = rawOption("user") ?? (flags.user === undefined ? undefined : String(flags.user));
      const rawUsers = rawOption("users") ?? (flags.users === undefined ? undefined : String(flags.users));
      const modes = [
        ["--user", rawUser !== undefined],
        ["--users", rawUsers !== undefined],
        ["--all", flags.all === true],
        ["--items", rawItems !== undefined],
      ].filter(([, given]) => given).map(([name]) => name as string);
      if (modes.length === 0) throw new UsageError("say whom to recommend for: --user ID, --users FILE, --all or --items ID,…");
      if (modes.length > 1) throw new UsageError(`give one of --user, --users, --all and --items, not ${modes.join(" and ")}`);
      const k = positiveK(flags.k);
      const modelPath = String(flags.model);
      checkArtifactPath(modelPath);

      if (rawItems !== undefined) {
        if (rawItems.trim() === "") throw new UsageError("give the user's items with --items ID,ID,…");
        const ids = rawItems.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
        const saved = await loadSaved(modelPath, flags.device);
        const { row, unknown } = newUserRow(saved.artifact, ids);
        if (unknown.length === ids.length) throw new UsageError(`none of the items is known to the model: ${unknown.join(", ")}`);
        let list: RankedItems | undefined;
        await recommendTopK(saved, row, k, { onBlock: (lists) => void (list = lists[0]) });
        const items = [...list!.items].map((i, r) => ({ item: saved.artifact.itemIds[i], score: list!.scores[r] }));
        if (flags.json) return console.log(JSON.stringify({ items, unknown }, null, 2));
        if (unknown.length) console.error(`infrec: ignoring unknown item ids: ${unknown.join(", ")}`);
        console.log(table([["rank", "item", "score"], ...items.map((r, i) => [i + 1, r.item, r.score])]));
        return;
      }

      // Everything the user can get wrong is checked before the artifact is read and scored.
      const out = flags.out === undefined ? undefined : String(flags.out);
      const format = recommendFormat(flags.format === undefined ? undefined : String(flags.format), out, flags.json === true);
      if (out !== undefined) checkWritable("--out", out);
      if (rawUser !== undefined && rawUser.trim() === "") throw new UsageError("--user needs a user id");
      const requested = rawUser !== undefined ? [rawUser.trim()] : rawUsers !== undefined ? readUserIds(rawUsers) : null;

      const saved = await loadSaved(modelPath, flags.device);
      const users = saved.artifact.users;
      if (users === undefined) throw new Error(`${modelPath} carries no users of a dataset (a format-1 ∞-AE artifact fitted on a summary); refit with infrec fit --out, or use --items`);
      const rows = requested === null ? undefined : userRows(users, requested, modelPath);
      const chunks: string[] = [];
      if (out === undefined) guardStdout();
      const emit = (text: string) => void (out === undefined ? stdoutClosed || process.stdout.write(text) : chunks.push(text));
      if (format === "csv") emit(CSV_HEADER);
      const progress = new Progress("recommend", rawUser === undefined);
      try {
        await recommendTopK(saved, users.seen, k, {
          users: rows,
          onBlock: (lists) => {
            if (stdoutClosed) throw new PipeClosed();
            emit(formatRecommendations(lists, users.ids, saved.artifact.itemIds, format));
          },
          onProgress: (done, total) => done < total && progress.update(done / total, `${done}/${total} users`),
        });
      } catch (e) {
        if (!(e instanceof PipeClosed)) throw e;
        return;
      }
      if (out !== undefined) writeFileAtomic(out, chunks.join(""));
      progress.done();
    });
}

export interface SavedEvaluation {
  split: EvalSplit;
  psp: PspNormalisation;
  ties: TieRule;
  seed: number;
  device?: string;
  json?: boolean;
}

/** Whether `evaluate --model X` names a saved model rather than a model to fit. */
export function isArtifactPath(model: string, knownModels: readonly string[]): boolean {
  return !knownModels.includes(model) && existsSync(model);
}

/** Throws unless the artifact scores the dataset's items, in the dataset's order. */
export function checkSameItems(artifact: ModelArtifact, ds: Dataset, what: string): void {
  const a = artifact.itemIds;
  const b = ds.itemIds;
  if (a.length !== b.length) throw new Error(`${what} has ${a.length} items, dataset '${ds.name}' ${b.length}: it was fitted on another dataset`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${what}: item ${i} is '${a[i]}', dataset '${ds.name}' has '${b[i]}': it was fitted on another dataset (or item order)`);
  }
}

/** `evaluate --model FILE`: a saved model's metrics on a split of the dataset (no fitting). */
export async function evaluateSavedModel(path: string, flags: DataFlags, options: SavedEvaluation): Promise<void> {
  checkArtifactPath(path);
  const t0 = Date.now();
  const ds = await loadFromFlags(flags);
  const saved = await loadSaved(path, options.device);
  checkSameItems(saved.artifact, ds, path);
  const trainedOn = saved.artifact.dataset?.trainedOn;
  if (trainedOn?.startsWith("all")) console.error(`infrec: ${path} was fitted on ${trainedOn}: its ${options.split} metrics are not held-out estimates`);
  const result = await evaluate(saved, ds, { split: options.split, psp: options.psp, ties: options.ties, tieSeed: options.seed, seed: options.seed });
  const out = {
    dataset: ds.name,
    model: saved.name,
    artifact: path,
    trainedOn,
    split: options.split,
    hyperParameters: saved.artifact.hyperParameters ?? {},
    metrics: result.metrics,
    users: result.users,
    seconds: (Date.now() - t0) / 1000,
  };
  if (options.json) return console.log(JSON.stringify(out, null, 2));
  console.log(`${out.model} from ${path} on ${out.dataset} (${out.split}, ${out.users} users, ${formatSeconds(out.seconds)})`);
  if (Object.keys(out.hyperParameters).length) console.log(`hyper-parameters: ${JSON.stringify(out.hyperParameters)} (saved)`);
  console.log(table([["metric", "value"], ...Object.entries(out.metrics).map(([k, v]) => [k, v])]));
}
