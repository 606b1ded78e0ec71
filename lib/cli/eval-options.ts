/**
 * The options `evaluate` and `fit` share about how a model is evaluated and
 * recorded: --seed, --ties, --psp, --metrics, --lambdas / --grid (the
 * candidates searched on validation), --per-user FILE and --run-dir DIR.
 */
import type { CAC } from "cac";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../data/registry.ts";
import { METRIC_FAMILIES, metricFamily, type MetricFamily, type Metrics, PAPER_METRICS, type PerUserMetrics, type TieRule } from "../eval/evaluate.ts";
import { type GridSpec, overrideGrid, parseGridSpec } from "../eval/grid-spec.ts";
import { perUserFormat, selectPerUserColumns, writePerUser } from "../eval/per-user.ts";
import type { PspNormalisation } from "../eval/metrics.ts";
import type { ModelEntry, ModelParams } from "../models/registry.ts";
import type { TuneOptions } from "../tuning/tune.ts";
import { writeFileAtomic } from "../util/files.ts";
import { table } from "../util/terminal.ts";
import { checkWritable, rawOption, UsageError } from "./common.ts";

export interface EvalFlags {
  seed?: number;
  ties?: string;
  psp?: string;
  metrics?: string;
  lambdas?: string | number;
  grid?: string | string[];
  perUser?: string;
  runDir?: string;
}

/** EvalFlags checked: what the commands pass on. */
export interface EvalSettings {
  seed: number;
  ties: TieRule;
  psp: PspNormalisation;
  /** Families printed (table, --json, --per-user); every family is computed. */
  shown: MetricFamily[];
  /** Overrides of the model's grid (--lambdas, --grid), or null. */
  gridSpec: GridSpec | null;
  perUser?: string;
  runDir?: string;
}

/** The evaluation settings as tuneModel options: one seed for data, AUC negatives and random ties; every metric family computed. */
export function tuneEvalOptions(settings: EvalSettings): Pick<TuneOptions, "seed" | "psp" | "ties" | "tieSeed" | "metrics" | "perUser"> {
  return {
    seed: settings.seed, psp: settings.psp, ties: settings.ties, tieSeed: settings.seed,
    metrics: METRIC_FAMILIES, perUser: settings.perUser !== undefined,
  };
}

const SEED_DEFAULT = 42;

/** Commands with these flags, by name: --run-dir lists every option they declare. */
const commandsWithEvalFlags = new Map<string, ReturnType<CAC["command"]>>();

export function withEvalFlags<T extends ReturnType<CAC["command"]>>(cmd: T): T {
  commandsWithEvalFlags.set(cmd.name, cmd);
  return cmd
    .option("--seed <n>", "Seed of everything random: the --data split, model initialisation, AUC negatives, --ties random", { default: SEED_DEFAULT })
    .option("--ties <rule>", "Equal scores: index (lower item index first) or random (a seeded random item order)", { default: "index" })
    .option("--psp <norm>", "PSP normalisation: official or textbook", { default: "official" })
    .option("--metrics <list>", `Metrics shown: all, paper (AUC, HR, NDCG, PSP) or a list of ${METRIC_FAMILIES.join(", ")}`, { default: "all" })
    .option("--lambdas <list>", "λ candidates for inf-ae and ease, e.g. 1,5,20 (same as --grid lambda=1,5,20)")
    .option("--grid <spec>", "Candidates searched on validation, e.g. \"lambda=1,5;depth=1,2\" or \"dim=32,64;reg=0.01\"; other keys keep the default grid's values")
    .option("--per-user <file>", "Write each user's metrics (.csv, or .jsonl JSON Lines)")
    .option("--run-dir <dir>", "Save the resolved config, the log and the results JSON in this folder") as T;
}

/** --metrics: "all", "paper" or a comma list of families (any case). */
export function parseMetricsFlag(v: string | undefined): MetricFamily[] {
  const text = (v ?? "all").trim();
  const out = new Set<MetricFamily>();
  for (const word of text.split(",").map((w) => w.trim().toLowerCase()).filter((w) => w !== "")) {
    if (word === "all") METRIC_FAMILIES.forEach((f) => out.add(f));
    else if (word === "paper") PAPER_METRICS.forEach((f) => out.add(f));
    else {
      const f = METRIC_FAMILIES.find((m) => m.toLowerCase() === word);
      if (!f) throw new UsageError(`--metrics: unknown metric '${word}' (all, paper, ${METRIC_FAMILIES.join(", ")})`);
      out.add(f);
    }
  }
  if (out.size === 0) throw new UsageError("--metrics: name at least one metric (all, paper, …)");
  return METRIC_FAMILIES.filter((f) => out.has(f));
}

/** --seed: an integer in [0, 2^32), as `sample`, `noise` and `distill` take it. */
export function parseSeedFlag(v: string | number | undefined): number {
  const x = Number(v ?? SEED_DEFAULT);
  if (String(v ?? SEED_DEFAULT).trim() === "" || !Number.isInteger(x) || x < 0 || x >= 2 ** 32) {
    throw new UsageError(`--seed must be an integer in [0, 2^32), got '${String(v)}'`);
  }
  return x;
}

/** The CLI's cut-offs. */
export const CLI_CUTOFFS: readonly number[] = Object.freeze([10, 100]);

/** --metric (the validation metric that picks hyper-parameters): AUC or FAMILY@k with k 10 or 100, checked before any fit. */
export function checkSelectionMetric(v: string | undefined): string {
  const name = String(v ?? "HR@100");
  const family = METRIC_FAMILIES.find((f) => f.toLowerCase() === metricFamily(name).toLowerCase());
  const k = name.includes("@") ? Number(name.slice(name.indexOf("@") + 1)) : undefined;
  const ok = family === "AUC" ? k === undefined : family !== undefined && k !== undefined && CLI_CUTOFFS.includes(k);
  if (!ok) throw new UsageError(`--metric must be AUC or one of ${METRIC_FAMILIES.slice(1).join(", ")} at @${CLI_CUTOFFS.join(" or @")} (e.g. HR@100), got '${name}'`);
  return family === "AUC" ? "AUC" : `${family}@${k}`;
}

/** The grid overrides typed: --lambdas L is --grid lambda=L; --grid may be given several times. */
function gridSpecOf(flags: EvalFlags): GridSpec | null {
  const lambdas = rawOption("lambdas") ?? (flags.lambdas === undefined ? undefined : String(flags.lambdas));
  const grids = rawGridValues(flags);
  let spec: { key: string; values: GridSpec[number]["values"] }[] = [];
  if (grids.length) {
    try {
      spec = [...parseGridSpec(grids.join(";"))];
    } catch (e) {
      throw new UsageError(`--grid: ${(e as Error).message}`);
    }
  }
  if (lambdas !== undefined) {
    if (spec.some((s) => s.key === "lambda")) throw new UsageError("give λ with --lambdas or with --grid lambda=…, not both");
    try {
      spec.unshift(...parseGridSpec(`lambda=${lambdas}`));
    } catch (e) {
      throw new UsageError(`--lambdas: ${(e as Error).message.replace(/^lambda: /, "")}`);
    }
  }
  return spec.length ? spec : null;
}

function rawGridValues(flags: EvalFlags): string[] {
  if (flags.grid === undefined) return [];
  const given = Array.isArray(flags.grid) ? flags.grid : [flags.grid];
  return given.map((g) => String(g));
}

/** Checks every flag before any data is read or model fitted; creates --run-dir. */
export function parseEvalFlags(flags: EvalFlags): EvalSettings {
  const ties = String(flags.ties ?? "index");
  if (ties !== "index" && ties !== "random") throw new UsageError(`--ties must be 'index' or 'random', got '${ties}'`);
  const psp = String(flags.psp ?? "official");
  if (psp !== "official" && psp !== "textbook") throw new UsageError(`--psp must be 'official' or 'textbook', got '${psp}'`);
  const settings: EvalSettings = {
    seed: parseSeedFlag(flags.seed),
    ties,
    psp,
    shown: parseMetricsFlag(flags.metrics),
    gridSpec: gridSpecOf(flags),
  };
  if (flags.perUser !== undefined) {
    const path = String(flags.perUser);
    try {
      perUserFormat(path);
    } catch (e) {
      throw new UsageError(`--per-user ${(e as Error).message}`);
    }
    checkWritable("--per-user", path);
    settings.perUser = path;
  }
  if (flags.runDir !== undefined) {
    const dir = String(flags.runDir);
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--run-dir ${dir} is a file, not a folder`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UsageError(`--run-dir ${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    checkWritable("--run-dir", join(dir, "config.json"));
    settings.runDir = dir;
  }
  return settings;
}

/** The evaluation flags given that `evaluate --model FILE` (a saved model, evaluated as saved) does not take. */
export function flagsNotForSavedModels(settings: EvalSettings): string[] {
  const given: string[] = [];
  if (settings.gridSpec !== null) given.push(rawOption("lambdas") !== undefined ? "--lambdas" : "--grid");
  if (rawOption("metrics") !== undefined) given.push("--metrics");
  if (settings.perUser !== undefined) given.push("--per-user");
  if (settings.runDir !== undefined) given.push("--run-dir");
  return given;
}

/**
 * The candidates to search: the model's default grid with the --lambdas /
 * --grid overrides, each checked by building it (a model's own limits, e.g.
 * depth ≥ 1, become usage errors before any fit). Null when nothing is overridden.
 */
export function resolveGrid(model: string, entry: ModelEntry, defaults: readonly ModelParams[], spec: GridSpec | null): ModelParams[] | null {
  if (spec === null) return null;
  const flag = spec.length === 1 && spec[0].key === "lambda" && rawOption("lambdas") !== undefined ? "--lambdas" : "--grid";
  let grid: ModelParams[];
  try {
    grid = overrideGrid(defaults as ModelParams[], spec, model) as ModelParams[];
  } catch (e) {
    const hint = flag === "--lambdas" && !defaults.some((p) => "lambda" in p) ? "; set its grid with --grid key=v1,v2" : "";
    throw new UsageError(`${flag}: ${(e as Error).message}${hint}`);
  }
  for (const p of grid) {
    try {
      const m = entry.build(p);
      void m.dispose?.();
    } catch (e) {
      throw new UsageError(`${flag}: candidate ${JSON.stringify(p)}: ${(e as Error).message}`);
    }
  }
  return grid;
}

/** The metrics of the families asked to be shown. */
export function shownMetrics(metrics: Metrics, shown: readonly MetricFamily[]): Metrics {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => (shown as readonly string[]).includes(metricFamily(k))));
}

/**
 * Metrics as a family × cut-off table (AUC, which has no cut-off, in the
 * first column): nine rows and one column per k, narrow enough for any terminal.
 */
export function metricsTable(metrics: Metrics): string {
  const ks: string[] = [];
  const families: string[] = [];
  for (const name of Object.keys(metrics)) {
    const family = metricFamily(name);
    if (!families.includes(family)) families.push(family);
    const at = name.indexOf("@");
    if (at >= 0 && !ks.includes(name.slice(at))) ks.push(name.slice(at));
  }
  const rows: (string | number)[][] = [["metric", ...(ks.length ? ks : ["value"])]];
  for (const f of families) {
    if (f in metrics) rows.push([f, metrics[f], ...ks.slice(1).map(() => "")]);
    else rows.push([f, ...ks.map((k) => (`${f}${k}` in metrics ? metrics[`${f}${k}`] : ""))]);
  }
  return table(rows);
}

/** Writes --per-user rows, keeping only the shown families' columns. */
export function writePerUserFile(path: string, rows: PerUserMetrics | undefined, userIds: readonly string[], shown: readonly MetricFamily[]): void {
  if (!rows) throw new Error("--per-user: the evaluation returned no per-user rows");
  writePerUser(path, selectPerUserColumns(rows, (k) => (shown as readonly string[]).includes(metricFamily(k))), userIds);
}

/** Versions that decide the numbers: infrec, the JavaScript runtime and ONNX Runtime. */
export function runtimeVersions(): Record<string, string> {
  const read = (f: () => string): string => {
    try {
      return f();
    } catch {
      return "unknown";
    }
  };
  const versions: Record<string, string> = {
    infrec: read(() => JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version as string),
    node: process.versions.node,
  };
  const runtime = process.versions as Record<string, string | undefined>;
  if (runtime.bun) versions.bun = runtime.bun;
  if (runtime.deno) versions.deno = runtime.deno;
  const require = createRequire(import.meta.url);
  versions["onnxruntime-node"] = read(() => (require("onnxruntime-node/package.json") as { version: string }).version);
  versions["onnxruntime-web"] = read(() => JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "onnxruntime-web", "package.json"), "utf8")).version as string);
  return versions;
}

/** A progress/stderr text as its final lines: a carriage-return redraw keeps its last state, colour codes go. */
export function logLines(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const parts = line.split("\r");
      return parts[parts.length - 1].replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
    })
    .join("\n");
}

/**
 * --run-dir: config.json (every option with its default, the resolved
 * settings, versions), log.txt (everything written to stderr while the command
 * ran) and results.json (the command's JSON result). Each is written whole
 * through a temp file; on failure the log ends with the error and no
 * results.json is written.
 */
export class RunRecorder {
  private readonly chunks: string[] = [];
  private readonly restore: () => void;
  private readonly config: Record<string, unknown>;

  constructor(readonly dir: string, command: string, options: Record<string, unknown>, resolved: Record<string, unknown>) {
    const stderr = process.stderr;
    const write = stderr.write;
    const chunks = this.chunks;
    stderr.write = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stderr.write;
    this.restore = () => {
      stderr.write = write;
    };
    const shown = Object.fromEntries(Object.entries(options).filter(([k]) => k !== "--" && !k.includes("-")));
    this.config = { command, argv: process.argv.slice(2), cwd: process.cwd(), startedAt: new Date().toISOString(), options: shown, resolved, versions: runtimeVersions() };
    this.writeJson("config.json", this.config);
  }

  /** Adds settings found out later (e.g. the grid, once the dataset is read) to config.json. */
  resolve(more: Record<string, unknown>): void {
    Object.assign(this.config.resolved as Record<string, unknown>, more);
    this.writeJson("config.json", this.config);
  }

  finish(results: unknown): void {
    this.close();
    this.writeJson("results.json", results);
    writeFileAtomic(join(this.dir, "log.txt"), logLines(this.chunks.join("")));
  }

  fail(error: unknown): void {
    this.close();
    writeFileAtomic(join(this.dir, "log.txt"), logLines(this.chunks.join("")) + `infrec: ${error instanceof Error ? error.message : String(error)}\n`);
  }

  private close(): void {
    this.restore();
    if (activeRun === this) activeRun = null;
  }

  private writeJson(name: string, value: unknown): void {
    writeFileAtomic(join(this.dir, name), JSON.stringify(value, null, 2) + "\n");
  }
}

/** The run being recorded, so that runCli can close its log when the command fails. */
let activeRun: RunRecorder | null = null;

/** Every option `command` declares with its value in this run (its default, or null when it has none and was not given). */
function allOptions(command: string, flags: Record<string, unknown>): Record<string, unknown> {
  const declared = commandsWithEvalFlags.get(command)?.options ?? [];
  const out: Record<string, unknown> = Object.fromEntries(declared.map((o) => [o.name, flags[o.name] ?? null]));
  for (const [k, v] of Object.entries(flags)) if (!(k in out)) out[k] = v;
  return out;
}

/** Starts recording when --run-dir was given (null otherwise); call `finish(results)` when done. */
export function startRun(settings: EvalSettings, command: string, flags: object): RunRecorder | null {
  if (settings.runDir === undefined) return null;
  activeRun?.fail(new Error("superseded by another run"));
  activeRun = new RunRecorder(resolve(settings.runDir), command, allOptions(command, flags as Record<string, unknown>), {
    seed: settings.seed, ties: settings.ties, psp: settings.psp, metrics: settings.shown, gridOverrides: settings.gridSpec, perUser: settings.perUser ?? null,
  });
  return activeRun;
}

/** Ends the active run's log with the error (runCli calls this for any failing command). */
export function failActiveRun(error: unknown): void {
  activeRun?.fail(error);
}
