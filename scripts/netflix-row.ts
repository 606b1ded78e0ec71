/**
 * Table 1's Netflix row at Netflix's size, on the Prize's per-movie files (the
 * real `training_set/`, or one written by scripts/netflix-synth.ts):
 * PopRec, EASE, ∞-AE on a seeded random support of 25,000 users (5.4%, as the
 * paper's), and optionally DISTILL-CF (μ = 500, mini-batches of real users) +
 * ∞-AE. Each model is fitted on every user's train rows and its
 * hyper-parameters are picked on validation HR@100; validation and test are
 * scored on a seeded sample of users (`--eval-users`, 0 = all), with PSP's
 * propensities from the full train split. Scoring all 480,189 users costs a
 * 480,189 × 25,000 kernel block and product per λ (≈ 4 · 10¹⁴ flop), hence
 * the sample.
 *
 *   npx tsx scripts/netflix-row.ts --data /tmp/netflix-synth [--models pop,ease,inf-ae]
 *        [--support 25000] [--eval-users 10000] [--quick] [--out results/netflix]
 *        [--distill-steps 500 --distill-batch 2048]
 *
 * Writes `<out>/netflix-row.{json,md}` after every stage (atomically), with each
 * stage's wall time and the process's peak resident memory at its end.
 */
import { cac } from "cac";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, sampleUsers, usersDataset } from "../lib/data/dataset.ts";
import { loadDataFile } from "../lib/data/load-file.ts";
import { runDistill } from "../lib/distill/run.ts";
import { summaryToMatrix } from "../lib/distill/summary.ts";
import { type EvalSplit, evaluateView, type Metrics, splitView, type TieRule } from "../lib/eval/evaluate.ts";
import { TABLE1_METRICS } from "../lib/eval/paper-results.ts";
import type { InteractionMatrix } from "../lib/data/matrix.ts";
import type { HyperParameters, Recommender } from "../lib/models/model.ts";
import { modelEntry, type ModelParams } from "../lib/models/registry.ts";
import { FitScratch } from "../lib/models/scratch.ts";
import type { DeviceRequest } from "../lib/onnx/backend.ts";
import { writeFileAtomic } from "../lib/util/files.ts";
import { formatSeconds, phaseLogger } from "../lib/util/terminal.ts";

export const NETFLIX_ROW_MODELS = ["pop", "ease", "inf-ae", "distill-inf-ae"] as const;

export interface NetflixRowOptions {
  /** A folder of mv_*.txt files, or one holding `training_set/`. */
  data: string;
  models: string[];
  /** ∞-AE's random support users (the paper: 25,000). */
  support: number;
  /** Users scored for validation and test (seeded sample); 0 = all. */
  evalUsers: number;
  /** The registry's small λ grids. */
  quick: boolean;
  out: string;
  seed: number;
  device: DeviceRequest;
  ties: TieRule;
  /** DISTILL-CF: outer steps at most, and real users per step. */
  distillSteps: number;
  distillBatch: number;
  /** Keep the models an earlier run with the same settings left in `out`'s JSON; fit only the rest. */
  resume: boolean;
  /** With `resume`: models fitted again even where the earlier run has them (e.g. after a change to their code). */
  refit?: string[];
  log: (line: string) => void;
}

export interface StageRecord {
  stage: string;
  seconds: number;
  /** The process's peak resident set so far (MB), read at the stage's end. */
  peakRssMB: number;
  /** Whether that peak was reached during this stage (else the stage stayed below it). */
  peakInStage: boolean;
  rssMB: number;
  /** Set on the stages of models kept from an earlier run (--resume): when that run recorded them. */
  earlierRun?: string;
}

export interface ModelRecord {
  model: string;
  hyperParameters: HyperParameters;
  validation: { params: ModelParams; "HR@100": number }[];
  test: Metrics;
  seconds: number;
  note?: string;
  /** When the record was made (ISO time) and the code's git commit, where known. */
  finishedAt?: string;
  commit?: string;
}

export interface NetflixRowResult {
  data: string;
  users: number;
  items: number;
  interactions: { train: number; validation: number; test: number };
  evalUsers: number;
  support: number;
  seed: number;
  /** The registry's small grids (--quick), and DISTILL-CF's budget. */
  quick: boolean;
  distillSteps: number;
  distillBatch: number;
  stages: StageRecord[];
  models: ModelRecord[];
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Runs `work` as a named stage: its wall time and the peak memory at its end are recorded. */
async function stage<T>(stages: StageRecord[], name: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  const peakBefore = process.resourceUsage().maxRSS;
  const started = performance.now();
  log(`${name} …`);
  const result = await work();
  const peak = process.resourceUsage().maxRSS; // kB
  const record: StageRecord = {
    stage: name,
    seconds: (performance.now() - started) / 1000,
    peakRssMB: Math.round(peak / 1024),
    peakInStage: peak > peakBefore,
    rssMB: mb(process.memoryUsage.rss()),
  };
  stages.push(record);
  log(`${name}: ${formatSeconds(record.seconds)}, peak RSS ${record.peakRssMB} MB${record.peakInStage ? "" : " (reached earlier)"}`);
  return result;
}

/**
 * The grid search of lib/eval (validation HR@100 picks, ties to the earlier
 * candidate, singular kernels skipped), fitting on all users' train rows and
 * scoring the sampled users with the full train split's PSP propensities.
 * A candidate that is the best so far on validation is scored on test at once,
 * and every candidate is dropped before the next is fitted, so that one fitted
 * model is alive at a time (∞-AE's α on 25,000 users is 1.8 GB); only the
 * validation pick's test metrics are reported.
 */
async function tuneOnSample(
  train: InteractionMatrix, sample: Dataset, name: string, grid: ModelParams[], o: NetflixRowOptions, fitOn: InteractionMatrix = train,
): Promise<Omit<ModelRecord, "model" | "seconds">> {
  const entry = modelEntry(name);
  const scratch = new FitScratch();
  const evaluateOn = (model: Recommender, split: EvalSplit) =>
    evaluateView(model, splitView(sample, split), train, { split, ties: o.ties, seed: o.seed });
  const validation: ModelRecord["validation"] = [];
  let best: { score: number; test: Metrics; hyperParameters: HyperParameters } | null = null;
  try {
    for (const params of grid) {
      const model = entry.build(params, { scratch, grid, device: o.device });
      const started = performance.now();
      try {
        try {
          await model.fit(fitOn, { seed: o.seed, onProgress: phaseLogger(o.log, `  ${name} ${JSON.stringify(params)}: `) });
        } catch (e) {
          if ((e as Error).name !== "SingularKernelError") throw e;
          o.log(`  ${name} ${JSON.stringify(params)} skipped: ${(e as Error).message}`);
          continue;
        }
        const score = (await evaluateOn(model, "validation")).metrics["HR@100"];
        validation.push({ params, "HR@100": score });
        o.log(`  ${name} ${JSON.stringify(params)}: validation HR@100 ${score.toFixed(2)} (${formatSeconds((performance.now() - started) / 1000)})`);
        if (!best || score > best.score) best = { score, test: (await evaluateOn(model, "test")).metrics, hyperParameters: model.hyperParameters() };
      } finally {
        await model.dispose?.();
      }
    }
    if (!best) throw new Error(`${name}: every candidate was skipped`);
    return { hyperParameters: best.hyperParameters, validation, test: best.test };
  } finally {
    scratch.clear();
  }
}

/** The data folder the reader takes: `training_set/` inside `data` when there is one. */
export function movieFolder(data: string): string {
  const inner = join(data, "training_set");
  return existsSync(inner) ? inner : data;
}

export async function runNetflixRow(o: NetflixRowOptions): Promise<NetflixRowResult> {
  for (const m of o.models) {
    if (!(NETFLIX_ROW_MODELS as readonly string[]).includes(m)) throw new Error(`unknown model '${m}' (known: ${NETFLIX_ROW_MODELS.join(", ")})`);
  }
  for (const m of o.refit ?? []) {
    if (!o.models.includes(m)) throw new Error(`--refit: '${m}' is not among --models (${o.models.join(", ")})`);
  }
  if (o.refit && !o.resume) throw new Error("--refit applies with --resume only");
  if (!(Number.isInteger(o.support) && o.support > 0)) throw new Error(`--support must be a positive integer, got ${o.support}`);
  if (!(Number.isInteger(o.evalUsers) && o.evalUsers >= 0)) throw new Error(`--eval-users must be an integer ≥ 0, got ${o.evalUsers}`);
  mkdirSync(o.out, { recursive: true });
  // Read now: the code this process runs is what was checked out when it started.
  const commit = gitCommit();
  const earlier = o.resume ? earlierRun(o) : null;
  const stages: StageRecord[] = [];
  const ds = await stage(stages, "load", o.log, async () => ({ ...(await loadDataFile(movieFolder(o.data), { format: "netflix", seed: o.seed })), name: "netflix" }));
  const sampled = sampleUsers(ds.train.numUsers, o.evalUsers, o.seed);
  const sample = usersDataset(ds, sampled);
  const result: NetflixRowResult = {
    data: o.data,
    users: ds.train.numUsers,
    items: ds.train.numItems,
    interactions: { train: Math.round(ds.train.total), validation: Math.round(ds.validation.total), test: Math.round(ds.test.total) },
    evalUsers: sampled.length,
    support: o.support,
    seed: o.seed,
    quick: o.quick,
    distillSteps: o.distillSteps,
    distillBatch: o.distillBatch,
    stages,
    models: [],
  };
  if (earlier) checkSameData(earlier, result);
  const save = () => {
    writeFileAtomic(join(o.out, "netflix-row.json"), JSON.stringify(result, null, 2) + "\n");
    writeFileAtomic(join(o.out, "netflix-row.md"), toMarkdown(result));
  };
  save();
  o.log(`${result.users} users × ${result.items} items, ${result.interactions.train} train rows; scoring ${sampled.length} users`);
  for (const name of o.models) {
    const kept = o.refit?.includes(name) ? undefined : earlier?.models.find((m) => m.model === name);
    if (kept) {
      const when = kept.finishedAt ?? "an earlier run";
      result.models.push(kept);
      const keptStage = earlier!.stages.find((st) => st.stage === name);
      if (keptStage) stages.push({ ...keptStage, earlierRun: keptStage.earlierRun ?? when });
      o.log(`${name}: kept from ${when} (--resume)`);
      save();
      continue;
    }
    const started = performance.now();
    const record = await stage(stages, name, o.log, async (): Promise<Omit<ModelRecord, "model" | "seconds">> => {
      if (name === "distill-inf-ae") return distillColumn(ds, sample, o);
      const grid = modelEntry(name).gridFor(ds, { quick: o.quick }).map((p) => (name === "inf-ae" ? { ...p, support: o.support } : p));
      return tuneOnSample(ds.train, sample, name, grid, o);
    });
    result.models.push({ model: name, ...record, seconds: (performance.now() - started) / 1000, finishedAt: new Date().toISOString(), ...(commit ? { commit } : {}) });
    save();
  }
  return result;
}

/** The code's git commit (with "-dirty" when tracked files differ from it), or undefined outside a checkout. */
function gitCommit(): string | undefined {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() !== "";
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

/**
 * The run an earlier invocation left in `out` (--resume), checked to have the
 * same settings; null when there is none. Its distill-inf-ae record is kept
 * only when DISTILL-CF's budget is the same too.
 */
export function earlierRun(o: Pick<NetflixRowOptions, "out" | "data" | "seed" | "support" | "quick" | "distillSteps" | "distillBatch" | "log">): NetflixRowResult | null {
  const file = join(o.out, "netflix-row.json");
  if (!existsSync(file)) return null;
  let r: NetflixRowResult;
  try {
    r = JSON.parse(readFileSync(file, "utf8")) as NetflixRowResult;
  } catch (e) {
    throw new Error(`--resume: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const differs: string[] = [];
  const want: Record<string, unknown> = { data: o.data, seed: o.seed, support: o.support, quick: o.quick };
  for (const [key, value] of Object.entries(want)) if ((r as unknown as Record<string, unknown>)[key] !== value) differs.push(`${key} ${JSON.stringify((r as unknown as Record<string, unknown>)[key])} ≠ ${JSON.stringify(value)}`);
  if (differs.length > 0) throw new Error(`--resume: ${file} was made with other settings (${differs.join(", ")}); use another --out`);
  if (!Array.isArray(r.models) || !Array.isArray(r.stages)) throw new Error(`--resume: ${file} has no models or stages`);
  if (r.distillSteps !== o.distillSteps || r.distillBatch !== o.distillBatch) {
    if (r.models.some((m) => m.model === "distill-inf-ae")) o.log(`--resume: DISTILL-CF's budget differs from ${file}'s; distill-inf-ae is run again`);
    r = { ...r, models: r.models.filter((m) => m.model !== "distill-inf-ae") };
  }
  o.log(`--resume: ${file} has ${r.models.map((m) => m.model).join(", ") || "no models"}`);
  return r;
}

/** The earlier run must describe the same data and user sample as this one. */
function checkSameData(earlier: NetflixRowResult, now: NetflixRowResult): void {
  const a = JSON.stringify([earlier.users, earlier.items, earlier.interactions, earlier.evalUsers]);
  const b = JSON.stringify([now.users, now.items, now.interactions, now.evalUsers]);
  if (a !== b) throw new Error(`--resume: the earlier run saw ${a} (users, items, rows, scored users), this one ${b}; use another --out`);
}

/** DISTILL-CF (μ = 500, `distillBatch` real users per step) on all users, then ∞-AE on the summary (summary λ grid). */
async function distillColumn(ds: Dataset, sample: Dataset, o: NetflixRowOptions): Promise<Omit<ModelRecord, "model" | "seconds">> {
  const started = performance.now();
  const run = await runDistill(ds, { mu: Math.min(500, ds.train.numUsers), batchSize: Math.min(o.distillBatch, ds.train.numUsers), steps: o.distillSteps, device: o.device, seed: o.seed, validationUsers: o.evalUsers > 0 ? o.evalUsers : null }, {
    onLog: (e) => {
      if (e.type === "step") o.log(`  distill step ${e.step}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s/step)`);
      else if (e.type === "validation") o.log(`  distill step ${e.step}: validation HR@100 ${e.score.toFixed(2)} λ=${e.lambda}`);
    },
  });
  const distilled = (performance.now() - started) / 1000;
  const grid = modelEntry("inf-ae").gridFor(ds, { summary: true });
  const r = await tuneOnSample(ds.train, sample, "inf-ae", grid, o, summaryToMatrix(run.summary));
  const note = `distilled in ${formatSeconds(distilled)}: ${run.stepsRun} steps (${run.stopReason}), best at step ${run.bestStep}${run.bestScore === null ? " (never validated)" : ""}`;
  return { ...r, hyperParameters: { mu: run.summary.header.mu, ...r.hyperParameters }, note };
}

const fmt = (metric: string, v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : metric === "AUC" ? v.toFixed(4) : v.toFixed(2));

export function toMarkdown(r: NetflixRowResult): string {
  const out = [
    `# Netflix row: ${r.users} users × ${r.items} items (${r.data})`,
    "",
    `Train / validation / test rows: ${r.interactions.train} / ${r.interactions.validation} / ${r.interactions.test}. ` +
      `Metrics over ${r.evalUsers} seeded users (seed ${r.seed}); ∞-AE support ${r.support} users.`,
    "",
  ];
  if (r.models.length > 0) {
    out.push(`| metric | ${r.models.map((m) => m.model).join(" | ")} |`, `| --- |${r.models.map(() => " --- |").join("")}`);
    for (const metric of TABLE1_METRICS) out.push(`| ${metric} | ${r.models.map((m) => fmt(metric, m.test[metric])).join(" | ")} |`);
    out.push("", "Picked on validation HR@100:", "");
    for (const m of r.models) out.push(`- ${m.model}: ${JSON.stringify(m.hyperParameters)}, ${formatSeconds(m.seconds)}${m.note ? ` — ${m.note}` : ""}`);
    out.push("");
  }
  out.push("| stage | wall | peak RSS (MB) |", "| --- | --- | --- |");
  for (const s of r.stages) out.push(`| ${s.stage}${s.earlierRun ? ` (run of ${s.earlierRun})` : ""} | ${formatSeconds(s.seconds)} | ${s.peakInStage ? "" : "≤ "}${s.peakRssMB} |`);
  return out.join("\n") + "\n";
}

if ((import.meta as { main?: boolean }).main ?? (typeof process !== "undefined" && process.argv[1]?.endsWith("netflix-row.ts"))) {
  const cli = cac("netflix-row");
  cli
    .option("--data <dir>", "Netflix Prize folder (training_set/ or the mv_*.txt files)")
    .option("--models <list>", "Comma-separated: pop, ease, inf-ae, distill-inf-ae", { default: "pop,ease,inf-ae" })
    .option("--support <n>", "∞-AE's random support users", { default: 25000 })
    .option("--eval-users <n>", "Seeded users scored for validation and test (0 = all)", { default: 10000 })
    .option("--quick", "The registry's small λ grids")
    .option("--out <dir>", "Output folder", { default: "results/netflix" })
    .option("--seed <n>", "Seed of the split, the samples and the fits", { default: 42 })
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--ties <rule>", "Equal scores: index or random", { default: "index" })
    .option("--distill-steps <n>", "DISTILL-CF outer steps at most", { default: 500 })
    .option("--distill-batch <n>", "DISTILL-CF real users per step", { default: 2048 })
    .option("--resume", "Keep the models an earlier run with the same settings left in --out; fit only the rest")
    .option("--refit <list>", "With --resume: fit these models again even where the earlier run has them")
    .help();
  const { options } = cli.parse();
  if (!options.help) {
    try {
      if (!options.data) throw new Error("--data is required");
      if (options.ties !== "index" && options.ties !== "random") throw new Error(`--ties must be 'index' or 'random', got '${String(options.ties)}'`);
      const result = await runNetflixRow({
        data: String(options.data),
        models: String(options.models).split(",").filter(Boolean),
        support: Number(options.support),
        evalUsers: Number(options.evalUsers),
        quick: Boolean(options.quick),
        out: String(options.out),
        seed: Number(options.seed),
        device: options.device,
        ties: options.ties,
        distillSteps: Number(options.distillSteps),
        distillBatch: Number(options.distillBatch),
        resume: Boolean(options.resume),
        refit: options.refit === undefined ? undefined : String(options.refit).split(",").filter(Boolean),
        log: (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
      });
      console.log(toMarkdown(result));
    } catch (e) {
      console.error(`netflix-row: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
}
