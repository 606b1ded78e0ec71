/**
 * The DISTILL-CF run driver (docs/protocol.md §4) on the fast step (fast-step.ts):
 *
 * - L (μ × I) starts as μ seeded random real users' binary train rows.
 * - Step t samples X̂ with noise stream t, computes the loss on the batch (all
 *   users, or a seeded random subset per step) and takes one Adam step.
 * - Validation after steps 25, 50, …, 200, then every 40 (or every
 *   `validateEvery` steps): the candidate is
 *   X̂ = sample(L, stream t + 1) — exactly the support step t + 1 samples, so
 *   the driver validates it there instead of sampling twice. λ is re-picked
 *   from `lambdaGrid` by validation HR@100 of an ∞-AE fitted on the candidate
 *   (as weighted rows) and scoring the real users; the best X̂ is kept.
 * - Early stop after `patience` steps without improvement (checked at
 *   validations). Aborting (signal) stops between stages and returns the best
 *   summary so far (or the current X̂ when nothing was validated yet).
 */
import { SUMMARY_INFINITE_AE_LAMBDAS } from "../models/registry.ts";
import type { Dataset } from "../data/dataset.ts";
import { tuneModel } from "../tuning/tune.ts";
import { type Backend, type DeviceRequest, getBackend } from "../onnx/backend.ts";
import { Adam } from "./adam.ts";
import { isValidationStep } from "./distill.ts";
import { denseBatch, type DenseBatch, FastDistillEngine, type StepTimings, DEFAULT_STORE_NOISE_BYTES } from "./fast-step.ts";
import { STREAM_BATCH, STREAM_INIT_USERS, sampleWithoutReplacement } from "./rng.ts";
import { makeSummary, summaryToMatrix, type Summary } from "./summary.ts";

export const DISTILL_LAMBDA_GRID: readonly number[] = SUMMARY_INFINITE_AE_LAMBDAS;

export interface RunDistillOptions {
  /** Synthetic users μ (default 500). */
  mu: number;
  /** Gumbel samples per synthetic user γ (default 200). */
  gamma: number;
  /** Temperature τ (default 10). */
  tau: number;
  /** Cardinality penalty λ₂ (default 1e-3). */
  cardReg: number;
  /** Adam learning rate (default 0.04). */
  lr: number;
  /** Outer steps at most (default 500). */
  steps: number;
  /** Early stop after this many steps without a better validation score (default 150). */
  patience: number;
  /** 32-bit seed (default 42). */
  seed: number;
  /** Real users per step; null = all users (default). */
  batchSize: number | null;
  /**
   * λ of the inner solve before the first validation (default 0.1, the
   * official code's default `lamda`, which its distillation starts from).
   * On ML-1M this start matters: 1e-5 reached validation HR@100 55.52 (best
   * at step 25), 0.1 reached 56.51 (best at step 75). "validated": validate
   * the initial X̂ as step 0 and start from its λ.
   */
  initialLambda: number | "validated";
  /** λ candidates re-picked at each validation (default {1e-5, 1e-3, 0.1, 1, 5, 50}). */
  lambdaGrid: readonly number[];
  /** NTK depth (default 1). */
  depth: number;
  device: DeviceRequest;
  /** Sampling worker threads (default 2). */
  samplingWorkers: number;
  /** See FastEngineOptions.storeNoiseBytes (default 2 GiB). */
  storeNoiseBytes: number;
  /** Users per block in the batch stage (default 2048). */
  batchBlock: number;
  /** Validation metric (default "HR@100"). */
  metric: string;
  /** Validate every this many steps instead of the official schedule (25, 50, …, 200, then every 40); null = official (default). */
  validateEvery: number | null;
  /** 1 reproduces the official Adam step-count quirk (default 0). */
  adamBiasCorrectionOffset: number;
  /** Reproduce the official key-splitting quirk (default false). */
  duplicateFirstSample: boolean;
}

export const RUN_DISTILL_DEFAULTS: Readonly<RunDistillOptions> = Object.freeze({
  mu: 500,
  gamma: 200,
  tau: 10,
  cardReg: 1e-3,
  lr: 0.04,
  steps: 500,
  patience: 150,
  seed: 42,
  batchSize: null,
  initialLambda: 0.1,
  lambdaGrid: DISTILL_LAMBDA_GRID,
  depth: 1,
  device: "cpu",
  samplingWorkers: 2,
  storeNoiseBytes: DEFAULT_STORE_NOISE_BYTES,
  batchBlock: 2048,
  metric: "HR@100",
  validateEvery: null,
  adamBiasCorrectionOffset: 0,
  duplicateFirstSample: false,
});

/** A smoke-run budget for --quick modes: one validation (step 25), few Gumbel samples, 512 real users per step. */
export const QUICK_DISTILL_OPTIONS: Readonly<Partial<RunDistillOptions>> = Object.freeze({ gamma: 5, steps: 26, batchSize: 512, samplingWorkers: 0 });

export type DistillLogEntry =
  | { type: "step"; step: number; loss: number; reconstruction: number; penalty: number; lambda: number; gradientNorm: number; seconds: number; timings: StepTimings }
  | { type: "validation"; step: number; score: number; lambda: number; best: boolean; scores: Record<string, number>; seconds: number }
  | { type: "stop"; step: number; reason: "max-steps" | "early-stop" | "interrupted"; bestStep: number; bestScore: number | null };

export interface DistillProgress {
  step: number;
  maxSteps: number;
  loss: number;
  /** Last validation score (NaN before the first). */
  lastScore: number;
  bestScore: number;
  lambda: number;
  /** Seconds since the start. */
  elapsed: number;
}

export interface RunDistillHooks {
  onProgress?: (p: DistillProgress) => void;
  onLog?: (entry: DistillLogEntry) => void;
  signal?: AbortSignal;
  /** Backend to use (default: getBackend({device})). */
  backend?: Backend;
}

export interface DistillRunResult {
  /** The best validated X̂ (or the last sampled one without a validation). */
  summary: Summary;
  lambda: number;
  bestStep: number;
  bestScore: number | null;
  stepsRun: number;
  stopReason: "max-steps" | "early-stop" | "interrupted";
  history: DistillLogEntry[];
  /** Users whose rows initialised L. */
  initialUsers: Int32Array;
}

function resolve(partial: Partial<RunDistillOptions>, numUsers: number): RunDistillOptions {
  const o: RunDistillOptions = { ...RUN_DISTILL_DEFAULTS, ...partial };
  const int = (name: keyof RunDistillOptions, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`runDistill: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int("mu", o.mu, 1);
  int("gamma", o.gamma, 1);
  int("steps", o.steps, 1);
  int("patience", o.patience, 1);
  int("depth", o.depth, 1);
  int("samplingWorkers", o.samplingWorkers, 0);
  int("batchBlock", o.batchBlock, 1);
  if (o.mu > numUsers) throw new Error(`runDistill: mu = ${o.mu} exceeds the ${numUsers} users to initialise from`);
  if (!(o.tau > 0) || !Number.isFinite(o.tau)) throw new Error(`runDistill: tau must be a finite number > 0, got ${o.tau}`);
  if (!(o.cardReg >= 0) || !Number.isFinite(o.cardReg)) throw new Error(`runDistill: cardReg must be a finite number ≥ 0, got ${o.cardReg}`);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`runDistill: lr must be a finite number > 0, got ${o.lr}`);
  if (o.initialLambda !== "validated" && (!(o.initialLambda >= 0) || !Number.isFinite(o.initialLambda))) throw new Error(`runDistill: initialLambda must be a finite number ≥ 0, got ${o.initialLambda}`);
  if (o.lambdaGrid.length === 0 || o.lambdaGrid.some((l) => !(l >= 0) || !Number.isFinite(l))) throw new Error(`runDistill: lambdaGrid must be finite numbers ≥ 0, got [${o.lambdaGrid.join(", ")}]`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`runDistill: seed must be an integer in [0, 2^32), got ${o.seed}`);
  if (o.validateEvery !== null) int("validateEvery", o.validateEvery, 1);
  if (o.batchSize !== null) {
    int("batchSize", o.batchSize, 1);
    if (o.batchSize > numUsers) throw new Error(`runDistill: batch size ${o.batchSize} exceeds the ${numUsers} users`);
  }
  return o;
}

/** Binary dense rows of `users` (float32) with their norms. */
function binaryBatch(ds: Dataset, users: Int32Array | null): DenseBatch {
  const train = ds.train;
  const rows = users ? users.length : train.numUsers;
  const data = users ? train.denseRowsOf(users) : train.denseRows(0, rows);
  for (let p = 0; p < data.length; p++) if (data[p] !== 0) data[p] = 1;
  return denseBatch(data, rows, train.numItems);
}

export async function runDistill(ds: Dataset, options: Partial<RunDistillOptions> = {}, hooks: RunDistillHooks = {}): Promise<DistillRunResult> {
  const train = ds.train;
  const numUsers = train.numUsers;
  const items = train.numItems;
  if (numUsers < 1 || items < 1 || train.nnz === 0) throw new Error(`runDistill: empty training matrix (${numUsers}×${items}, ${train.nnz} interactions)`);
  const o = resolve(options, numUsers);
  const mu = o.mu;
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const backend = hooks.backend ?? (await getBackend({ device: o.device }));
  const engine = new FastDistillEngine(backend, { samplingWorkers: o.samplingWorkers, storeNoiseBytes: o.storeNoiseBytes });
  const history: DistillLogEntry[] = [];
  const log = (e: DistillLogEntry): void => {
    history.push(e);
    hooks.onLog?.(e);
  };

  const initialUsers = sampleWithoutReplacement(o.seed, STREAM_INIT_USERS, 0, numUsers, mu);
  const logits = new Float64Array(mu * items);
  for (let r = 0; r < mu; r++) for (const i of train.rowItems(initialUsers[r])) logits[r * items + i] = 1;
  const adam = new Adam(logits.length, { lr: o.lr, biasCorrectionOffset: o.adamBiasCorrectionOffset });
  const fullBatch = o.batchSize === null || o.batchSize === numUsers ? binaryBatch(ds, null) : null;
  const interactionsPerUser = train.total / numUsers;

  let lambda = o.initialLambda === "validated" ? o.lambdaGrid[0] : o.initialLambda;
  let best: { values: Float64Array; step: number; score: number; lambda: number } | null = null;
  let lastScore = Number.NaN;
  let lastLoss = Number.NaN;
  let lastSupport: { values: Float64Array; step: number } | null = null;
  let stopReason: DistillRunResult["stopReason"] = "max-steps";
  let stepsRun = 0;
  const aborted = (): boolean => hooks.signal?.aborted === true;

  /** Validates the candidate X̂ of `step` (sampled with stream step + 1); returns false to stop early. */
  const validate = async (support: Float64Array, step: number): Promise<boolean> => {
    const t0 = performance.now();
    const candidate = makeSummary(
      { dataset: ds.name, mu, items, itemIds: [...ds.itemIds], lambda, tau: o.tau, gamma: o.gamma, seed: o.seed, step, score: null },
      support,
    );
    const matrix = summaryToMatrix(candidate);
    const result = await tuneModel(ds, "inf-ae", {
      grid: o.lambdaGrid.map((l) => ({ lambda: l, depth: o.depth })),
      train: matrix,
      summary: true,
      build: { backend },
      metric: o.metric,
      aucNegatives: 0,
      onSkip: () => {},
    });
    const score = result.best.validation.metrics[o.metric];
    if (!Number.isFinite(score)) throw new Error(`runDistill: validation ${o.metric} ${score} at step ${step} is not finite`);
    lambda = Number(result.best.params.lambda);
    lastScore = score;
    const scores: Record<string, number> = {};
    for (const pt of result.points) scores[String(pt.params.lambda)] = pt.validation.metrics[o.metric];
    const isBest = best === null || score > best.score;
    if (isBest) best = { values: support, step, score, lambda };
    log({ type: "validation", step, score, lambda, best: isBest, scores, seconds: (performance.now() - t0) / 1000 });
    return best === null || step - best.step < o.patience;
  };

  const currentBestScore = (): number => (best as { score: number } | null)?.score ?? Number.NaN;
  let pendingValidation: number | null = null;
  let stop = false;
  try {
    if (o.initialLambda === "validated" && !aborted()) {
      // Step 0's candidate is what step 1 samples (stream 1).
      const support = await engine.sampleSupport(logits, mu, items, { gamma: o.gamma, tau: o.tau, seed: o.seed, step: 1, duplicateFirstSample: o.duplicateFirstSample });
      lastSupport = { values: support, step: 0 };
      await validate(support, 0);
    }
    for (let step = 1; step <= o.steps && !stop; step++) {
      if (aborted()) {
        stopReason = "interrupted";
        break;
      }
      const t0 = performance.now();
      const batch =
        fullBatch ?? binaryBatch(ds, sampleWithoutReplacement(o.seed, STREAM_BATCH, step, numUsers, o.batchSize ?? numUsers));
      let interruptedInValidation = false;
      const res = await engine.step(
        logits,
        mu,
        items,
        batch,
        {
          gamma: o.gamma,
          tau: o.tau,
          seed: o.seed,
          step,
          lambda,
          lambda2: o.cardReg,
          interactionsPerUser,
          depth: o.depth,
          loss: "softmax",
          batchBlock: o.batchBlock,
          duplicateFirstSample: o.duplicateFirstSample,
        },
        true,
        async (support) => {
          lastSupport = { values: support, step: step - 1 };
          if (pendingValidation !== null) {
            const v = pendingValidation;
            pendingValidation = null;
            if (!(await validate(support, v))) {
              stop = true;
              stopReason = "early-stop";
            }
            if (aborted()) interruptedInValidation = true;
          }
          return !(stop || interruptedInValidation);
        },
      );
      if (res === null || stop || interruptedInValidation) {
        if (interruptedInValidation && !stop) stopReason = "interrupted";
        break;
      }
      const grad = res.dLogits;
      if (!grad) throw new Error("runDistill: the step returned no gradient");
      if (!Number.isFinite(res.loss)) throw new Error(`runDistill: loss became ${res.loss} at step ${step}`);
      adam.step(logits, grad);
      stepsRun = step;
      lastLoss = res.loss;
      let norm = 0;
      for (let p = 0; p < grad.length; p++) norm += grad[p] * grad[p];
      log({
        type: "step",
        step,
        loss: res.loss,
        reconstruction: res.reconstruction,
        penalty: res.penalty,
        lambda,
        gradientNorm: Math.sqrt(norm),
        seconds: (performance.now() - t0) / 1000,
        timings: res.timings,
      });
      hooks.onProgress?.({ step, maxSteps: o.steps, loss: lastLoss, lastScore, bestScore: currentBestScore(), lambda, elapsed: elapsed() });
      if (o.validateEvery === null ? isValidationStep(step) : step % o.validateEvery === 0) pendingValidation = step;
    }
    // A validation still owed (the last step was a validation step): sample its candidate.
    if (pendingValidation !== null && !stop && !aborted()) {
      const v = pendingValidation;
      const support = await engine.sampleSupport(logits, mu, items, { gamma: o.gamma, tau: o.tau, seed: o.seed, step: v + 1, duplicateFirstSample: o.duplicateFirstSample });
      lastSupport = { values: support, step: v };
      if (!(await validate(support, v))) stopReason = "early-stop";
    }
    if (aborted() && stopReason === "max-steps") stopReason = "interrupted";
  } finally {
    await engine.close();
  }

  let chosen = best as { values: Float64Array; step: number; score: number; lambda: number } | null;
  if (chosen === null) {
    const last = lastSupport as { values: Float64Array; step: number } | null;
    const support =
      last && last.step === stepsRun
        ? last.values
        : await new FastDistillEngine(backend, { samplingWorkers: 0, storeNoiseBytes: 0 }).sampleSupport(logits, mu, items, {
            gamma: o.gamma,
            tau: o.tau,
            seed: o.seed,
            step: stepsRun + 1,
            duplicateFirstSample: o.duplicateFirstSample,
          });
    chosen = { values: support, step: stepsRun, score: Number.NaN, lambda };
  }
  const summary = makeSummary(
    {
      dataset: ds.name,
      mu,
      items,
      itemIds: [...ds.itemIds],
      lambda: chosen.lambda,
      tau: o.tau,
      gamma: o.gamma,
      seed: o.seed,
      step: chosen.step,
      score: Number.isFinite(chosen.score) ? chosen.score : null,
    },
    chosen.values,
  );
  log({ type: "stop", step: stepsRun, reason: stopReason, bestStep: chosen.step, bestScore: summary.header.score });
  return {
    summary,
    lambda: chosen.lambda,
    bestStep: chosen.step,
    bestScore: summary.header.score,
    stepsRun,
    stopReason,
    history,
    initialUsers,
  };
}
