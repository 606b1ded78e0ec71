/**
 * The experiment behind the paper's Figures 1–4: sample the training data
 * with each sampler at each budget, fit a model on the sample (λ picked on
 * validation HR@100, as everywhere), and report the real users' test metrics.
 *
 * Every budget is a number of users n ({users: n}): user samplers keep n
 * users, DISTILL-CF synthesises n, and interaction RNS keeps n users' worth
 * of interactions (the share n / users-with-entries), so all share one x axis.
 */
import type { Dataset } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import type { Metrics } from "../eval/evaluate.ts";
import type { HyperParameters } from "../models/model.ts";
import type { ModelParams } from "../models/registry.ts";
import { tuneModel } from "../tuning/tune.ts";
import type { DeviceRequest } from "../onnx/backend.ts";
import { type Sampler, type SampleResult, usersWithInteractions } from "./sampler.ts";

export interface ModelSpec {
  /** A name in lib/models/registry.ts (e.g. "inf-ae", "ease"). */
  name: string;
  /** Candidates searched on validation (default: the registry's grid). */
  grid?: ModelParams[];
}

/** One trained-and-evaluated point. */
export interface SampledRun {
  dataset: string;
  /** Noise level in percent (0 for clean data). */
  noise: number;
  /** Sampler name, or "full" for the whole training matrix. */
  sampler: string;
  /** The x value: requested users (users' worth for interaction RNS, μ for DISTILL-CF). */
  budgetUsers: number;
  /** Rows the model was fitted on. */
  trainRows: number;
  keptInteractions: number;
  model: string;
  hyperParameters: HyperParameters;
  /** Test metrics of the validation-picked candidate. */
  metrics: Metrics;
  /** Its validation score by `metric`. */
  validationScore: number;
  sampleSeconds: number;
  fitSeconds: number;
  info?: Record<string, number | string>;
}

export interface FitOnSampleOptions {
  device?: DeviceRequest;
  seed?: number;
  /** Validation metric that picks the candidate (default HR@100). */
  metric?: string;
  /** AUC negatives per user (default 50; 0 skips AUC). */
  aucNegatives?: number;
  /** `train` is a DISTILL-CF summary: the registry's summary grid (docs/protocol.md §4). */
  summary?: boolean;
  log?: (line: string) => void;
}

/** Fits `model` on `train` and evaluates the real users of `ds` (validation pick, test metrics). */
export async function fitOnSample(
  ds: Dataset,
  train: InteractionMatrix,
  model: ModelSpec,
  options: FitOnSampleOptions = {},
): Promise<{ metrics: Metrics; hyperParameters: HyperParameters; validationScore: number }> {
  const metric = options.metric ?? "HR@100";
  const r = await tuneModel(ds, model.name, {
    grid: model.grid,
    summary: options.summary,
    build: { device: options.device },
    train,
    test: true,
    metric,
    seed: options.seed,
    aucNegatives: options.aucNegatives,
    onSkip: (s) => options.log?.(`    ${model.name} ${JSON.stringify(s.params)} skipped: ${s.reason}`),
  });
  return { metrics: r.test!.metrics, hyperParameters: r.hyperParameters, validationScore: r.best.validation.metrics[metric] };
}

export interface SweepOptions extends FitOnSampleOptions {
  /** Dataset whose training matrix is sampled and whose real users are evaluated. */
  dataset: Dataset;
  /** Name reported in the rows (default dataset.name), e.g. the clean name of a noisy copy. */
  datasetLabel?: string;
  noise?: number;
  samplers: Sampler[];
  /** User budgets (the x axis). */
  budgets: number[];
  /** Budgets for particular samplers (by name) in place of `budgets`, e.g. DISTILL-CF only where it is affordable. */
  samplerBudgets?: Partial<Record<string, number[]>>;
  models: ModelSpec[];
  /** Also fit on the whole training matrix (sampler "full"). Default true. */
  full?: boolean;
  /** Seed of every sampler (default 42). */
  samplerSeed?: number;
  /**
   * Finished points to take as they are instead of sampling and fitting again
   * (e.g. from an interrupted run's JSON); looked up by runKey. The caller
   * vouches that they were made with the same seed and settings.
   */
  reuse?: ReadonlyMap<string, SampledRun>;
  /** Told about each finished point (e.g. to write partial results); awaited. */
  onRun?: (run: SampledRun) => void | Promise<void>;
}

/** What identifies a point of a sweep: dataset label, noise, sampler, budget and model. */
export function runKey(r: Pick<SampledRun, "dataset" | "noise" | "sampler" | "budgetUsers" | "model">): string {
  return JSON.stringify([r.dataset, r.noise, r.sampler, r.budgetUsers, r.model]);
}

/** Samples, fits and evaluates every (sampler, budget, model); budgets above the users available are skipped. */
export async function samplingSweep(o: SweepOptions): Promise<SampledRun[]> {
  const ds = o.dataset;
  const label = o.datasetLabel ?? ds.name;
  const available = usersWithInteractions(ds.train).length;
  const runs: SampledRun[] = [];
  const log = o.log ?? (() => {});
  const takeRun = async (run: SampledRun): Promise<void> => {
    runs.push(run);
    log(`  ${label} noise ${run.noise}% ${run.sampler} ${run.budgetUsers} users → ${run.model} HR@10 ${run.metrics["HR@10"].toFixed(2)} (reused)`);
    await o.onRun?.(run);
  };
  const reused = (sampler: string, budgetUsers: number) =>
    o.models.map((m) => o.reuse?.get(runKey({ dataset: label, noise: o.noise ?? 0, sampler, budgetUsers, model: m.name })));
  // True when every model's point is reused: the sample itself is not needed then.
  const takeReused = async (sampler: string, budgetUsers: number): Promise<boolean> => {
    const found = reused(sampler, budgetUsers);
    if (!found.every((r) => r !== undefined)) return false;
    for (const run of found as SampledRun[]) await takeRun(run);
    return true;
  };
  const record = async (sampler: string, budgetUsers: number, sample: SampleResult, sampleSeconds: number): Promise<void> => {
    const found = reused(sampler, budgetUsers);
    for (const [k, model] of o.models.entries()) {
      if (found[k]) {
        await takeRun(found[k]);
        continue;
      }
      const t0 = performance.now();
      const fit = await fitOnSample(ds, sample.train, model, { ...o, summary: sample.synthetic });
      const run: SampledRun = {
        dataset: label,
        noise: o.noise ?? 0,
        sampler,
        budgetUsers,
        trainRows: sample.train.numUsers,
        keptInteractions: sample.keptInteractions,
        model: model.name,
        hyperParameters: fit.hyperParameters,
        metrics: fit.metrics,
        validationScore: fit.validationScore,
        sampleSeconds,
        fitSeconds: (performance.now() - t0) / 1000,
        ...(sample.info ? { info: sample.info } : {}),
      };
      runs.push(run);
      log(
        `  ${label} noise ${run.noise}% ${sampler} ${budgetUsers} users → ${model.name} ${JSON.stringify(fit.hyperParameters)} HR@10 ${fit.metrics["HR@10"].toFixed(2)} (${run.fitSeconds.toFixed(1)}s)`,
      );
      await o.onRun?.(run);
    }
  };
  if ((o.full ?? true) && !(await takeReused("full", available))) {
    const full: SampleResult = { train: ds.train, keptUsers: usersWithInteractions(ds.train), keptInteractions: ds.train.nnz, synthetic: false };
    await record("full", available, full, 0);
  }
  for (const sampler of o.samplers) {
    for (const n of o.samplerBudgets?.[sampler.name] ?? o.budgets) {
      if (n > available) {
        log(`  ${label}: budget ${n} exceeds the ${available} users with training data; skipped`);
        continue;
      }
      if (await takeReused(sampler.name, n)) continue;
      const t0 = performance.now();
      const sample = await sampler.sample(ds.train, { users: n }, o.samplerSeed ?? 42);
      await record(sampler.name, n, sample, (performance.now() - t0) / 1000);
    }
  }
  return runs;
}
