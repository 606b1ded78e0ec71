/**
 * What the figure scripts (figure1.ts … figure4.ts) share: flags, sampler
 * construction, and writing results as CSV + JSON + SVG + PNG into results/.
 *
 * Common flags:
 *   --datasets a,b      datasets (figure default; --quick: magazine)
 *   --samplers a,b      sampler names (lib/sampling/registry.ts)
 *   --budgets 50,200    user budgets, the x axis (default 25 … 20000 below the user count)
 *   --distill-budgets 25,500  DISTILL-CF only at these budgets (default: all of --budgets); its
 *                       cost grows with μ, so large budgets can be left to the cheap samplers
 *   --noise 0,1,2,5     noise levels in percent (figures 3 and 4)
 *   --quick             a smoke run: Magazine, 2 budgets, 2 samplers, small λ grids, short DISTILL-CF
 *   --out results       output folder; --quick writes <name>-quick.* so it never overwrites a full run
 *   --seed 42           seed of the samplers, the noise and DISTILL-CF
 *   --distill-steps/--distill-gamma/--distill-tau/--distill-workers  DISTILL-CF settings
 *   --resume            keep the points an earlier run left in --out's JSON; compute only the rest
 *   --reuse a.json,…    also take finished points from other figures' JSONs (e.g. figure 4's EASE
 *                       points from figure 3's); only files made with the same seed and settings
 *   --replot            redraw the SVG + PNG from the JSON of an earlier run in --out (nothing is computed)
 *   --distill-cache DIR keep DISTILL-CF summaries in DIR and reuse them (figures 1, 2 and 4
 *                       distil the same budgets; a rerun skips what is there)
 *   --data-dir DIR  --device cpu  --quiet
 */
import { cac } from "cac";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset } from "../lib/data/dataset.ts";
import { QUICK_DISTILL_OPTIONS, RUN_DISTILL_DEFAULTS, type RunDistillOptions } from "../lib/distill/run.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { baselineGrid } from "../lib/models/grids.ts";
import type { ModelParams } from "../lib/models/registry.ts";
import { type DeviceRequest, parseDeviceRequest } from "../lib/onnx/backend.ts";
import { type LineChartOptions, lineChartSpec, renderSvg, svgToPng } from "../lib/plot/chart.ts";
import { type ModelSpec, runKey, type SampledRun } from "../lib/sampling/experiment.ts";
import { makeSampler, SAMPLER_LABELS, SAMPLER_NAMES, type SamplerName } from "../lib/sampling/registry.ts";
import type { Sampler } from "../lib/sampling/sampler.ts";

/** User budgets of a full run; those at or above a dataset's user count are dropped (the "full" point covers it). */
export const DEFAULT_BUDGETS = [25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
export const QUICK_BUDGETS = [50, 200];

/** Small λ grids for --quick (a smoke run, not the paper's search). */
export const QUICK_GRIDS: Record<string, ModelParams[]> = {
  "inf-ae": [{ lambda: 5, depth: 1 }, { lambda: 20, depth: 1 }],
  ease: [{ lambda: 200 }, { lambda: 1000 }],
  // MultVAE's own one-candidate smoke grid (Magazine-sized, 20 epochs).
  multvae: baselineGrid("multvae", { size: "small", quick: true }) as unknown as ModelParams[],
};


export interface FigureDefaults {
  datasets: string[];
  samplers: SamplerName[];
  noise?: number[];
  /** The same for --quick. */
  quickDatasets?: string[];
  quickSamplers: SamplerName[];
  quickNoise?: number[];
}

export interface FigureContext {
  name: string;
  quick: boolean;
  datasets: string[];
  samplerNames: SamplerName[];
  budgets: number[] | null;
  /** DISTILL-CF's budgets where --distill-budgets narrows them, else null (the common budgets). */
  distillBudgets: number[] | null;
  noise: number[];
  seed: number;
  device: DeviceRequest;
  dataDir?: string;
  out: string;
  distill: Partial<Omit<RunDistillOptions, "mu" | "seed">>;
  /** Finished points taken from earlier runs (--resume, --reuse), by runKey. */
  reuse: Map<string, SampledRun>;
  /** Redraw the chart from the JSON an earlier run left in `out` (--replot). */
  replot: boolean;
  /** Folder of reusable DISTILL-CF summaries (--distill-cache), or undefined. */
  distillCache?: string;
  log: (line: string) => void;
}

function list(v: unknown): string[] {
  return v === undefined || v === true ? [] : String(v).split(",").map((s) => s.trim()).filter(Boolean);
}

function numbers(flag: string, v: unknown, check: (x: number) => boolean, what: string): number[] {
  return list(v).map((s) => {
    const x = Number(s);
    if (!Number.isFinite(x) || !check(x)) throw new Error(`--${flag}: '${s}' is not ${what}`);
    return x;
  });
}

function optionalNumber(flag: string, v: unknown, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || !check(x)) throw new Error(`--${flag} must be ${what}, got '${String(v)}'`);
  return x;
}

/** Parses the common flags; returns null when --help was printed. */
export function parseFigureArgs(name: string, defaults: FigureDefaults, argv: string[] = process.argv): FigureContext | null {
  const cli = cac(name);
  cli
    .option("--datasets <list>", `Datasets (default ${defaults.datasets.join(",")})`)
    .option("--samplers <list>", `Samplers: ${SAMPLER_NAMES.join(", ")} (default ${defaults.samplers.join(",")})`)
    .option("--budgets <list>", "User budgets (x axis)")
    .option("--distill-budgets <list>", "DISTILL-CF only at these user budgets (default: all budgets)")
    .option("--noise <list>", "Noise levels in percent")
    .option("--quick", "Smoke run: Magazine, 2 budgets, 2 samplers, small grids, short DISTILL-CF")
    .option("--out <dir>", "Output folder", { default: "results" })
    .option("--seed <n>", "Seed of samplers, noise and DISTILL-CF", { default: 42 })
    .option("--data-dir <dir>", "Dataset folder")
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--distill-steps <n>", "DISTILL-CF outer steps (default 500; --quick 26)")
    .option("--distill-gamma <n>", "DISTILL-CF Gumbel samples per user (default 200; --quick 5)")
    .option("--distill-tau <t>", "DISTILL-CF temperature (default 10)")
    .option("--distill-workers <n>", "DISTILL-CF sampling worker threads (default 2; --quick 0)")
    .option("--distill-inner-precision <p>", "DISTILL-CF's inner products: float32 (default) or float64 (as figures made before 2026-11-28)")
    .option("--distill-cache <dir>", "Keep DISTILL-CF summaries here and reuse them across runs and figures")
    .option("--resume", "Keep the points of an earlier run in --out and compute only the rest")
    .option("--reuse <files>", "Also take finished points from these figure JSONs (same seed and settings)")
    .option("--replot", "Redraw the SVG and PNG from the JSON of an earlier run in --out; compute nothing")
    .option("--quiet", "No progress lines on stderr")
    .help();
  const { options } = cli.parse(argv);
  if (options.help) return null;
  const quick = Boolean(options.quick);
  const samplerNames = (list(options.samplers).length ? list(options.samplers) : quick ? defaults.quickSamplers : defaults.samplers) as string[];
  for (const s of samplerNames) if (!(SAMPLER_NAMES as readonly string[]).includes(s)) throw new Error(`--samplers: unknown sampler '${s}' (known: ${SAMPLER_NAMES.join(", ")})`);
  const budgets = numbers("budgets", options.budgets, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const distillBudgets = numbers("distill-budgets", options.distillBudgets, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const noise = numbers("noise", options.noise, (x) => x >= 0 && x <= 100, "a percentage in [0, 100]");
  const seed = optionalNumber("seed", options.seed, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, "an integer in [0, 2^32)") ?? 42;
  const distill: Partial<RunDistillOptions> = quick ? { ...QUICK_DISTILL_OPTIONS } : {};
  const steps = optionalNumber("distill-steps", options.distillSteps, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const gamma = optionalNumber("distill-gamma", options.distillGamma, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
  const tau = optionalNumber("distill-tau", options.distillTau, (x) => x > 0, "a number > 0");
  const workers = optionalNumber("distill-workers", options.distillWorkers, (x) => Number.isInteger(x) && x >= 0, "an integer ≥ 0");
  if (steps !== undefined) distill.steps = steps;
  if (gamma !== undefined) distill.gamma = gamma;
  if (tau !== undefined) distill.tau = tau;
  if (workers !== undefined) distill.samplingWorkers = workers;
  const precision = options.distillInnerPrecision === undefined ? RUN_DISTILL_DEFAULTS.innerPrecision : String(options.distillInnerPrecision);
  if (precision !== "float32" && precision !== "float64") throw new Error(`--distill-inner-precision must be float32 or float64, got '${precision}'`);
  // Always recorded, so that a figure's JSON says which inner products made its DISTILL-CF points.
  distill.innerPrecision = precision;
  const device = parseDeviceRequest(options.device === undefined ? undefined : String(options.device));
  distill.device = device;
  const datasets = list(options.datasets).length ? list(options.datasets) : quick ? (defaults.quickDatasets ?? ["magazine"]) : defaults.datasets;
  const ctx: FigureContext = {
    name,
    quick,
    datasets,
    samplerNames: samplerNames as SamplerName[],
    budgets: budgets.length ? budgets : quick ? QUICK_BUDGETS : null,
    distillBudgets: distillBudgets.length ? distillBudgets : null,
    noise: noise.length ? noise : quick ? (defaults.quickNoise ?? defaults.noise ?? [0]) : (defaults.noise ?? [0]),
    seed,
    device,
    dataDir: options.dataDir,
    out: String(options.out),
    distill,
    replot: Boolean(options.replot),
    reuse: new Map(),
    distillCache: options.distillCache === undefined ? undefined : String(options.distillCache),
    log: options.quiet ? () => {} : (line: string) => process.stderr.write(line + "\n"),
  };
  const sources = list(options.reuse);
  if (options.resume && existsSync(outputPaths(ctx).json)) sources.unshift(outputPaths(ctx).json);
  for (const file of sources) {
    const runs = reusableRuns(ctx, file);
    for (const r of runs) ctx.reuse.set(runKey(r), r);
    ctx.log(`${name}: ${runs.length} finished points from ${file}`);
  }
  return ctx;
}

/** A parsed JSON file; errors name the flag that asked for it. */
function readJsonFile(flag: string, file: string): unknown {
  if (!existsSync(file)) throw new Error(`${flag}: ${file} does not exist`);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${flag}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** The runs of a figure JSON, checked to come from the same seed, mode and DISTILL-CF settings. */
/**
 * A figure's DISTILL-CF settings, comparable across versions: keys sorted, and
 * a JSON written before innerPrecision existed read as float64 (what made it).
 */
export function distillSettingsKey(settings: unknown): string {
  const o = { innerPrecision: "float64", ...(settings && typeof settings === "object" ? settings : {}) } as Record<string, unknown>;
  return JSON.stringify(o, Object.keys(o).sort());
}

function reusableRuns(ctx: FigureContext, file: string): SampledRun[] {
  const json = readJsonFile("--reuse", file) as { runs?: unknown; quick?: unknown; settings?: { seed?: unknown; distill?: unknown } };
  if (!Array.isArray(json.runs) || !json.settings) throw new Error(`--reuse: ${file} is not a figure's JSON (no runs or settings)`);
  const differs: string[] = [];
  if (json.settings.seed !== ctx.seed) differs.push(`seed ${String(json.settings.seed)} ≠ ${ctx.seed}`);
  if (Boolean(json.quick) !== ctx.quick) differs.push(`--quick ${Boolean(json.quick)} ≠ ${ctx.quick}`);
  if (differs.length) throw new Error(`--reuse: ${file} was made with other settings (${differs.join("; ")})`);
  const runs = json.runs as SampledRun[];
  // Other DISTILL-CF settings change only the DISTILL-CF points.
  if (distillSettingsKey(json.settings.distill) === distillSettingsKey(ctx.distill)) return runs;
  ctx.log(`${ctx.name}: ${file} has other DISTILL-CF settings (${JSON.stringify(json.settings.distill)}); its DISTILL-CF points are not reused`);
  return runs.filter((r) => r.sampler !== "distill-cf");
}

/** The budgets to sweep on a dataset with `users` users (explicit budgets are kept as given). */
export function budgetsFor(ctx: FigureContext, users: number): number[] {
  return ctx.budgets ?? DEFAULT_BUDGETS.filter((n) => n < users);
}

/** The per-sampler budgets to hand to samplingSweep (DISTILL-CF's narrowed by --distill-budgets). */
export function samplerBudgets(ctx: FigureContext): Partial<Record<string, number[]>> | undefined {
  return ctx.distillBudgets ? { "distill-cf": ctx.distillBudgets } : undefined;
}

/** A model with the figure's λ grid (the registry's, or the small one for --quick). */
export function modelSpec(ctx: FigureContext, name: string): ModelSpec {
  return ctx.quick && QUICK_GRIDS[name] ? { name, grid: QUICK_GRIDS[name] } : { name };
}

/** The samplers of a figure for one (possibly noisy) dataset. */
export function buildSamplers(ctx: FigureContext, ds: Dataset): Sampler[] {
  const batchSize = ctx.distill.batchSize;
  // A batch larger than the dataset means "all users".
  const distill = batchSize != null && batchSize >= ds.train.numUsers ? { ...ctx.distill, batchSize: null } : ctx.distill;
  return ctx.samplerNames.map((name) =>
    makeSampler(name, {
      dataset: ds,
      distill,
      distillCache: ctx.distillCache,
      distillHooks: {
        onLog: (e) => {
          if (e.type === "validation") ctx.log(`    distill-cf step ${e.step}: validation HR@100 ${e.score.toFixed(2)} λ=${e.lambda}${e.best ? " (best)" : ""}`);
        },
      },
    }),
  );
}

export function samplerLabel(name: string): string {
  return name === "full" ? "Full data" : (SAMPLER_LABELS[name as SamplerName] ?? name);
}

export const MODEL_LABELS: Record<string, string> = { "inf-ae": "∞-AE", ease: "EASE", multvae: "MVAE" };

// ---------------------------------------------------------------- output

const METRIC_ORDER = ["AUC", "HR@10", "HR@100", "NDCG@10", "NDCG@100", "PSP@10", "PSP@100"];

function csvCell(v: unknown): string {
  // Eight significant digits, trailing zeros dropped.
  const s = typeof v === "number" ? String(Number(v.toPrecision(8))) : String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per run: its settings, test metrics and any extra columns. */
export function runsToCsv(runs: SampledRun[], extra?: (run: SampledRun) => Record<string, number | string>): string {
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort(
    (a, b) => (METRIC_ORDER.indexOf(a) + 1 || 99) - (METRIC_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  const extraNames = extra && runs.length ? Object.keys(extra(runs[0])) : [];
  const header = ["dataset", "noise_pct", "sampler", "budget_users", "train_rows", "kept_interactions", "model", "hyper_parameters", ...metricNames, "validation_score", ...extraNames, "sample_seconds", "fit_seconds"];
  const lines = [header.join(",")];
  for (const r of runs) {
    const ex = extra ? extra(r) : {};
    lines.push(
      [
        r.dataset, r.noise, r.sampler, r.budgetUsers, r.trainRows, r.keptInteractions, r.model, JSON.stringify(r.hyperParameters),
        ...metricNames.map((m) => r.metrics[m] ?? ""), r.validationScore, ...extraNames.map((k) => ex[k]), r.sampleSeconds, r.fitSeconds,
      ].map(csvCell).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

export interface FigureOutput {
  runs: SampledRun[];
  chart: LineChartOptions | null;
  extraColumns?: (run: SampledRun) => Record<string, number | string>;
  /** Anything else worth keeping in the JSON (e.g. the reference score). */
  notes?: Record<string, unknown>;
}

/** Paths of the outputs of a figure run. */
export function outputPaths(ctx: FigureContext): { csv: string; json: string; svg: string; png: string } {
  const base = join(ctx.out, ctx.quick ? `${ctx.name}-quick` : ctx.name);
  return { csv: `${base}.csv`, json: `${base}.json`, svg: `${base}.svg`, png: `${base}.png` };
}

/** Writes CSV + JSON (every call: partial results survive an interruption) and, with a chart, SVG + PNG. */
export async function writeFigure(ctx: FigureContext, output: FigureOutput, started: number): Promise<void> {
  mkdirSync(ctx.out, { recursive: true });
  const paths = outputPaths(ctx);
  const json = {
    figure: ctx.name,
    quick: ctx.quick,
    settings: {
      datasets: ctx.datasets, samplers: ctx.samplerNames, budgets: ctx.budgets ?? "default", distillBudgets: ctx.distillBudgets ?? "all",
      noise: ctx.noise, seed: ctx.seed, device: ctx.device, distill: ctx.distill,
    },
    seconds: (performance.now() - started) / 1000,
    ...(output.notes ? { notes: output.notes } : {}),
    runs: output.runs,
  };
  // A replot keeps the run's own JSON and CSV.
  if (!ctx.replot) {
    writeFileAtomic(paths.json, JSON.stringify(json, null, 2) + "\n");
    writeFileAtomic(paths.csv, runsToCsv(output.runs, output.extraColumns));
  }
  if (output.chart) {
    const svg = await renderSvg(lineChartSpec(output.chart));
    writeFileAtomic(paths.svg, svg);
    writeFileAtomic(paths.png, svgToPng(svg));
  }
}

/** The runs and notes of an earlier run of this figure (for --replot). */
export function readFigureJson(ctx: FigureContext): { runs: SampledRun[]; notes: Record<string, unknown> } {
  const path = outputPaths(ctx).json;
  if (!existsSync(path)) throw new Error(`--replot: ${path} does not exist; run ${ctx.name} without --replot first`);
  const json = readJsonFile("--replot", path) as { figure?: unknown; runs?: unknown; notes?: Record<string, unknown> };
  if (json.figure !== ctx.name || !Array.isArray(json.runs)) throw new Error(`--replot: ${path} is not the output of ${ctx.name} (figure '${String(json.figure)}')`);
  const runs = json.runs as SampledRun[];
  const datasets = new Set(runs.map((r) => r.dataset));
  const missing = ctx.datasets.filter((d) => !datasets.has(d));
  if (missing.length) throw new Error(`--replot: ${path} has no runs for ${missing.join(", ")} (it has ${[...datasets].join(", ") || "none"}); pass --datasets`);
  return { runs: runs.filter((r) => ctx.datasets.includes(r.dataset)), notes: json.notes ?? {} };
}

/** Runs a figure's main with one-line errors and a non-zero exit code. */
export async function main(run: () => Promise<void>, name: string): Promise<void> {
  try {
    await run();
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    if (process.env.INFREC_DEBUG) console.error((e as Error).stack);
    process.exitCode = 1;
  }
}

/** True when this module is the entry point (Node via tsx, Deno and Bun). */
export function isEntry(meta: ImportMeta, file: string): boolean {
  const m = meta as ImportMeta & { main?: boolean };
  return m.main ?? (typeof process !== "undefined" && (process.argv[1] ?? "").endsWith(file));
}
