/**
 * `infrec distill`: learn a DISTILL-CF data summary (lib/distill/run.ts) and
 * save it (lib/distill/summary.ts).
 *
 *   infrec distill --dataset ml-1m --budget 500 [--samples 200] [--tau 10]
 *     [--card-reg 1e-3] [--steps 500] [--patience 150] [--batch N] [--seed 42]
 *     [--lr 0.04] [--device cpu] [--workers auto] [--sampling auto|workers|device]
 *     [--inner-precision float32|float64]
 *     --out summary.infrec-summary
 *     [--csv out.csv] [--json]
 *     [--tau-schedule 10:0.5[:linear]] [--lambda-pool grid|1e-5,1e-3,0.1]
 *     [--logit-rank d] [--learn-targets [--targets-out PATH]] [--inner inf-ae|ease]
 *     [--evaluate]
 *
 * The last line's options go beyond the paper (lib/distill/run.ts; without
 * them the official algorithm runs). --learn-targets also writes the learned
 * targets Y to PATH (default OUT.targets, lib/distill/kip.ts). --evaluate then
 * fits ∞-AE (on (X̂, Y) with learned targets) and EASE on the summary, λ picked
 * on validation, and prints their validation and test metrics
 * (lib/distill/evaluate-summary.ts).
 *
 * Progress (step, loss, last validation HR@100, ETA) goes to stderr; with
 * --json each log entry is one JSON object per line on stdout. Ctrl-C (SIGINT)
 * stops after the current stage, writes the best summary so far and exits
 * with code 130.
 */
import type { CAC } from "cac";
import { DISTILL_INNER_MODELS, type DistillInnerModel, type RunDistillOptions, runDistill, RUN_DISTILL_DEFAULTS } from "../distill/run.ts";
import { saveSummary, saveSummaryCsv } from "../distill/summary.ts";
import { parseNumberList, parseTauSchedule } from "../distill/step-schedules.ts";
import { saveTargets } from "../distill/kip.ts";
import { evaluateSummary } from "../distill/evaluate-summary.ts";
import { checkWritable, type DataFlags, loadFromFlags, parseDevice, UsageError, withDataFlags } from "./common.ts";
import { formatSeconds, Progress } from "../util/terminal.ts";
import { logicalCores } from "../util/worker.ts";

export interface DistillFlags extends DataFlags {
  budget?: string | number;
  samples?: string | number;
  tau?: string | number;
  cardReg?: string | number;
  steps?: string | number;
  patience?: string | number;
  batch?: string | number;
  lr?: string | number;
  device?: string;
  workers?: string | number;
  sampling?: string;
  innerPrecision?: string;
  out?: string;
  csv?: string;
  json?: boolean;
  officialQuirks?: boolean;
  initialLambda?: string | number;
  validateEvery?: string | number;
  validationUsers?: string | number;
  tauSchedule?: string | number;
  lambdaPool?: string | number;
  logitRank?: string | number;
  learnTargets?: boolean;
  targetsOut?: string;
  inner?: string;
  evaluate?: boolean;
}

/** Thrown after an interrupted run has written its best summary: the CLI exits non-zero with this message. */
export class DistillInterrupted extends Error {
  constructor(readonly stepsRun: number, readonly out: string) {
    super(`distill interrupted after ${stepsRun} steps; the best summary so far is in ${out}`);
    this.name = "DistillInterrupted";
  }
}

function numberFlag(name: string, v: string | number | undefined, fallback: number, check: (x: number) => boolean, what: string): number {
  if (v === undefined) return fallback;
  const x = typeof v === "number" ? v : Number(String(v).trim() === "" ? Number.NaN : v);
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`--${name} must be ${what}, got '${String(v)}'`);
  return x;
}

const positiveInt = (x: number): boolean => Number.isInteger(x) && x >= 1;

/** A flag that needs a value: a bare `--flag` (cac gives true) or an empty value is an error naming it. */
function stringFlag(name: string, v: string | number | boolean | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean" || String(v).trim() === "") throw new UsageError(`--${name} needs a value`);
  return String(v);
}

/** Runs a parser that throws plain Errors naming the flag, as a UsageError. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** The options beyond the paper; only those given are set, so the defaults stay the official algorithm. */
function parseExtensionFlags(flags: DistillFlags, out: string): { options: Partial<RunDistillOptions>; targetsOut: string | null } {
  const options: Partial<RunDistillOptions> = {};
  let inner: DistillInnerModel = RUN_DISTILL_DEFAULTS.inner;
  const innerText = stringFlag("inner", flags.inner);
  if (innerText !== undefined) {
    if (!(DISTILL_INNER_MODELS as readonly string[]).includes(innerText)) throw new UsageError(`--inner must be one of ${DISTILL_INNER_MODELS.join(", ")}, got '${innerText}'`);
    inner = innerText as DistillInnerModel;
    options.inner = inner;
  }
  const schedule = stringFlag("tau-schedule", flags.tauSchedule);
  if (schedule !== undefined) options.tauSchedule = usage(() => parseTauSchedule("--tau-schedule", schedule));
  const pool = stringFlag("lambda-pool", flags.lambdaPool);
  if (pool !== undefined) {
    if (pool === "grid") {
      options.lambdaPool = "grid";
    } else {
      const values = usage(() => parseNumberList("--lambda-pool", pool));
      const bad = values.find((l) => (inner === "ease" ? !(l > 0) : !(l >= 0)));
      if (bad !== undefined) throw new UsageError(`--lambda-pool values must be ${inner === "ease" ? "> 0 with --inner ease" : "≥ 0"}, got ${bad} in '${pool}'`);
      options.lambdaPool = values;
    }
  }
  if (flags.logitRank !== undefined) options.logitRank = numberFlag("logit-rank", flags.logitRank, 0, positiveInt, "a positive integer (the rank d of L = U·V)");
  if (flags.learnTargets) {
    if (inner === "ease") throw new UsageError("--learn-targets needs --inner inf-ae (EASE regresses the summary on itself; see lib/distill/kip.ts)");
    options.learnTargets = true;
  }
  const targetsText = stringFlag("targets-out", flags.targetsOut);
  if (targetsText !== undefined && !flags.learnTargets) throw new UsageError("--targets-out is only written with --learn-targets");
  const targetsOut = flags.learnTargets ? (targetsText ?? `${out}.targets`) : null;
  if (targetsOut !== null) checkWritable("--targets-out", targetsOut);
  return { options, targetsOut };
}

/**
 * --workers auto: one sampling worker per logical core, up to this many (it
 * was a fixed 2). An ML-1M step's sampling: 0.91 s with 2 workers on the 2-core
 * machine, 0.26–0.55 s with 16 on the 16-core GPU machine
 * (docs/onnx-runtime.md#the-device-resident-engine-on-the-h200).
 */
export const MAX_AUTO_WORKERS = 16;

/** Flags → run options; throws UsageError naming the bad flag. */
export function parseDistillFlags(flags: DistillFlags): { options: Partial<RunDistillOptions>; out: string; csv: string | null; targetsOut: string | null } {
  if (flags.out === undefined || String(flags.out) === "" || typeof flags.out === "boolean") throw new UsageError("--out PATH is required (where the summary is written)");
  if (flags.csv !== undefined && (typeof flags.csv === "boolean" || String(flags.csv) === "")) throw new UsageError("--csv needs a PATH");
  checkWritable("--out", String(flags.out));
  if (flags.csv !== undefined) checkWritable("--csv", String(flags.csv));
  const d = RUN_DISTILL_DEFAULTS;
  const seed = numberFlag("seed", flags.seed, d.seed, (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, "an integer in [0, 2^32)");
  const options: Partial<RunDistillOptions> = {
    mu: numberFlag("budget", flags.budget, d.mu, positiveInt, "a positive integer (synthetic users)"),
    gamma: numberFlag("samples", flags.samples, d.gamma, positiveInt, "a positive integer (Gumbel samples per user)"),
    tau: numberFlag("tau", flags.tau, d.tau, (x) => x > 0, "a number > 0"),
    cardReg: numberFlag("card-reg", flags.cardReg, d.cardReg, (x) => x >= 0, "a number ≥ 0"),
    steps: numberFlag("steps", flags.steps, d.steps, positiveInt, "a positive integer"),
    patience: numberFlag("patience", flags.patience, d.patience, positiveInt, "a positive integer"),
    lr: numberFlag("lr", flags.lr, d.lr, (x) => x > 0, "a number > 0"),
    // "auto" (the default) is resolved by distillCommand: one worker per core, at most MAX_AUTO_WORKERS.
    samplingWorkers: flags.workers === undefined || flags.workers === "auto" ? undefined : numberFlag("workers", flags.workers, d.samplingWorkers, (x) => Number.isInteger(x) && x >= 0, "an integer ≥ 0 or auto"),
    sampling: parseSampling(flags.sampling),
    innerPrecision: parseInnerPrecision(flags.innerPrecision),
    seed,
    batchSize: flags.batch === undefined ? null : numberFlag("batch", flags.batch, 0, positiveInt, "a positive integer (users per step)"),
    device: parseDevice(flags.device),
    initialLambda:
      flags.initialLambda === "validated"
        ? "validated"
        : numberFlag("initial-lambda", flags.initialLambda, d.initialLambda as number, (x) => x >= 0, "a number ≥ 0 or 'validated'"),
    validateEvery: flags.validateEvery === undefined ? null : numberFlag("validate-every", flags.validateEvery, 0, positiveInt, "a positive integer (steps)"),
    validationUsers: flags.validationUsers === undefined ? null : numberFlag("validation-users", flags.validationUsers, 0, positiveInt, "a positive integer (users)"),
    // The official code's Adam step count (first update ≈ 0.74·lr) and its reuse of the first sample's key.
    adamBiasCorrectionOffset: flags.officialQuirks ? 1 : 0,
    duplicateFirstSample: Boolean(flags.officialQuirks),
  };
  const extensions = parseExtensionFlags(flags, String(flags.out));
  if (extensions.options.inner === "ease" && options.initialLambda === 0) throw new UsageError("--initial-lambda must be > 0 with --inner ease");
  return { options: { ...options, ...extensions.options }, out: String(flags.out), csv: flags.csv === undefined ? null : String(flags.csv), targetsOut: extensions.targetsOut };
}

function parseSampling(value: string | undefined): RunDistillOptions["sampling"] {
  if (value === undefined) return RUN_DISTILL_DEFAULTS.sampling;
  const v = String(value);
  if (v === "auto" || v === "workers" || v === "device") return v;
  throw new UsageError(`--sampling must be auto, workers or device, got "${v}"`);
}

function parseInnerPrecision(value: string | undefined): RunDistillOptions["innerPrecision"] {
  if (value === undefined) return RUN_DISTILL_DEFAULTS.innerPrecision;
  const v = String(value);
  if (v === "float32" || v === "float64") return v;
  throw new UsageError(`--inner-precision must be float32 or float64, got "${v}"`);
}

/**
 * Runs the command. After Ctrl-C (or `signal`) the best summary so far is
 * written and DistillInterrupted is thrown, so the CLI exits non-zero.
 */
export async function distillCommand(
  flags: DistillFlags,
  signal?: AbortSignal,
  writeLine: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Promise<0> {
  const { options, out, csv, targetsOut } = parseDistillFlags(flags);
  options.samplingWorkers ??= Math.min(MAX_AUTO_WORKERS, await logicalCores());
  const ds = await loadFromFlags(flags);
  if (options.logitRank != null && options.logitRank > Math.min(options.mu ?? RUN_DISTILL_DEFAULTS.mu, ds.train.numItems)) {
    throw new UsageError(`--logit-rank ${options.logitRank} exceeds min(--budget, items) = ${Math.min(options.mu ?? RUN_DISTILL_DEFAULTS.mu, ds.train.numItems)}`);
  }
  if (options.mu !== undefined && options.mu > ds.train.numUsers) throw new UsageError(`--budget ${options.mu} exceeds the ${ds.train.numUsers} users of ${ds.name}`);
  if (options.batchSize != null && options.batchSize > ds.train.numUsers) throw new UsageError(`--batch ${options.batchSize} exceeds the ${ds.train.numUsers} users of ${ds.name}`);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener("abort", onAbort);
  // One listener for the whole run, counting: a `once` listener that adds the next one
  // lets Node drop its signal watcher in between, and a second Ctrl-C queued while a
  // step computes would then be lost.
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write("\ninterrupted: finishing the current stage, then writing the best summary so far (Ctrl-C again to stop at once)…\n");
      controller.abort();
      return;
    }
    // Writes are atomic (temp file, then rename), so stopping here leaves no partial file.
    process.stderr.write(`\ninterrupted again: stopping now without writing ${out}\n`);
    process.exit(130);
  };
  process.on("SIGINT", onSigint);
  const progress = new Progress(`distill ${ds.name}`, true);
  const started = Date.now();
  const maxSteps = options.steps ?? RUN_DISTILL_DEFAULTS.steps;
  try {
    const result = await runDistill(ds, options, {
      signal: controller.signal,
      onLog: (e) => {
        if (flags.json) writeLine(JSON.stringify(e));
      },
      onProgress: (p) => {
        const hr = Number.isFinite(p.lastScore) ? p.lastScore.toFixed(2) : "–";
        progress.update(p.step / maxSteps, `step ${p.step}/${maxSteps} loss ${p.loss.toFixed(4)} val HR@100 ${hr} λ ${p.lambda}`);
      },
    });
    progress.done(`stopped: ${result.stopReason}`);
    saveSummary(out, result.summary);
    if (csv) saveSummaryCsv(csv, result.summary);
    if (targetsOut && result.targets) saveTargets(targetsOut, { dataset: ds.name, mu: result.summary.header.mu, items: result.summary.header.items, summary: out }, result.targets);
    const score = result.bestScore === null ? "not validated" : `validation HR@100 ${result.bestScore.toFixed(3)}`;
    process.stderr.write(
      `summary of step ${result.bestStep} (${score}, λ ${result.lambda}) written to ${out}${csv ? ` and ${csv}` : ""}${targetsOut ? `, its learned targets to ${targetsOut}` : ""}; ${result.stepsRun} steps, ${formatSeconds((Date.now() - started) / 1000)}\n`,
    );
    if (result.stopReason === "interrupted") throw new DistillInterrupted(result.stepsRun, out);
    if (flags.evaluate) {
      const evaluations = await evaluateSummary(ds, result.summary, result.targets, ["inf-ae", "ease"]);
      const pick = (m: Record<string, number>): string => ["NDCG@10", "HR@10", "HR@100"].map((k) => `${k} ${m[k].toFixed(2)}`).join(" ");
      for (const e of evaluations) {
        if (flags.json) writeLine(JSON.stringify({ type: "evaluation", ...e }));
        process.stderr.write(`${e.model}${e.targets ? " (X̂, Y)" : ""} on the summary, λ ${e.lambda}: validation ${pick(e.validation)}; test ${pick(e.test)}\n`);
      }
    }
    return 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Adds `distill` to a cac instance; `writeLine` receives the --json lines (default stdout). */
export function registerDistillCommand(cli: CAC, writeLine?: (line: string) => void): void {
  withDataFlags(cli.command("distill", "Learn a DISTILL-CF data summary of μ synthetic users"))
    .option("--budget <mu>", "Synthetic users μ", { default: RUN_DISTILL_DEFAULTS.mu })
    .option("--samples <gamma>", "Gumbel samples per synthetic user γ", { default: RUN_DISTILL_DEFAULTS.gamma })
    .option("--tau <tau>", "Gumbel-softmax temperature τ", { default: RUN_DISTILL_DEFAULTS.tau })
    .option("--card-reg <l2>", "Cardinality penalty λ₂", { default: RUN_DISTILL_DEFAULTS.cardReg })
    .option("--steps <n>", "Outer steps at most", { default: RUN_DISTILL_DEFAULTS.steps })
    .option("--patience <n>", "Stop after n steps without a better validation HR@100", { default: RUN_DISTILL_DEFAULTS.patience })
    .option("--batch <n>", "Real users per step (default: all)")
    .option("--seed <seed>", "Random seed", { default: RUN_DISTILL_DEFAULTS.seed })
    .option("--lr <lr>", "Adam learning rate", { default: RUN_DISTILL_DEFAULTS.lr })
    .option("--device <device>", "cpu, cuda, webgpu, wasm or auto", { default: "cpu" })
    .option("--workers <n>", "Worker threads for Gumbel sampling: a number (0: none) or auto (one per core, at most 16)", { default: "auto" })
    .option("--sampling <where>", "Gumbel sampling on CPU workers, on the device (graphs; another noise stream), or auto (device on a GPU)", { default: "auto" })
    .option("--inner-precision <p>", "The inner solve's μ × I products in float32 graphs or float64 on the host (runs before 2026-11-28 used float64)", { default: RUN_DISTILL_DEFAULTS.innerPrecision })
    .option("--out <path>", "Where to write the summary (.infrec-summary)")
    .option("--csv <path>", "Also write the summary as sparse CSV (fake_user,item,weight)")
    .option("--initial-lambda <λ>", "λ of the inner solve before the first validation, or 'validated' (validate the initial X̂ first)", { default: RUN_DISTILL_DEFAULTS.initialLambda })
    .option("--validation-users <n>", "Validate on this many seeded users instead of all (large data sets)")
    .option("--validate-every <n>", "Validate every n steps instead of the official schedule (25, 50, …, 200, then every 40)")
    .option("--official-quirks", "Reproduce the official code's Adam step count and duplicated first Gumbel sample")
    .option("--tau-schedule <start:end>", "Anneal τ from start to end over the steps (START:END[:geometric|linear]; replaces --tau)")
    .option("--lambda-pool <list>", "Draw the inner solve's λ per step (seeded) from 'grid' (the validation grid) or a list, e.g. 1e-5,1e-3,0.1")
    .option("--logit-rank <d>", "Low-rank logits L = U·V (μ×d times d×I), initialised by the truncated SVD of the initial rows")
    .option("--learn-targets", "Learn regression targets Y apart from the summary X̂ (KIP); writes Y to --targets-out")
    .option("--targets-out <path>", "Where --learn-targets writes Y (default: OUT.targets)")
    .option("--evaluate", "After distilling, fit ∞-AE and EASE on the summary (λ on validation) and print validation and test metrics")
    .option("--inner <model>", "Inner model fitted on X̂: inf-ae (the paper) or ease (validation then picks EASE's λ)", { default: RUN_DISTILL_DEFAULTS.inner })
    .action(async (flags: DistillFlags) => {
      await distillCommand(flags, undefined, writeLine);
    });
}
