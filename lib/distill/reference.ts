/**
 * The float64 reference of DISTILL-CF (docs/protocol.md §4): the outer loop
 * written plainly on the stage-by-stage objective (objective.ts, sample.ts,
 * the float64 Gram engine). It is not what `infrec distill` runs; the fast
 * path (run.ts's `runDistill` on fast-step.ts and fast-sample.ts: float32 ORT
 * batch products, table-based noise, worker threads) is tested against these
 * stages (tests/distill/fast.test.ts), and this loop itself is tested in
 * tests/distill/reference.test.ts.
 *
 * - L starts as μ random real users' binary train rows (seeded).
 * - Outer step t = 1, 2, … uses Gumbel noise stream t (noise advances once per
 *   update), the batch of real users (all users by default, or a seeded random
 *   subset per step), the current λ, and one Adam update (lr 0.04).
 * - Validation at steps 25, 50, …, 200 and then every 40 steps (240, 280, …;
 *   schedule.ts): the caller's hook gets X̂ sampled from the updated logits
 *   with noise stream t + 1 (the support the next step would use), re-picks λ
 *   and returns its score (HR@100). The best-scoring X̂ is kept; the run stops
 *   once 150 steps have passed without improvement (checked at validations).
 * - Everything random comes from the counter-based RNG keyed by `seed`, so a
 *   run is deterministic per seed (given a deterministic Gram engine).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Adam } from "./adam.ts";
import { float64GramEngine, type GramEngine } from "./gram-engine.ts";
import type { ReconstructionLoss } from "./loss.ts";
import { distillObjective, type UserBatch } from "./objective.ts";
import { STREAM_BATCH, STREAM_INIT_USERS, sampleWithoutReplacement } from "./rng.ts";
import { sampleSupport, stepNoise } from "./sample.ts";
import { isValidationStep } from "./schedule.ts";

export interface DistillOptions {
  /** Synthetic users μ (default 500). */
  mu: number;
  /** Gumbel samples per synthetic user γ (default 200). */
  gamma: number;
  /** Gumbel-softmax temperature τ (default 10, the official code's). */
  tau: number;
  /** λ of the inner solve until the first validation re-picks it (default 1e-5). */
  lambda: number;
  /** Cardinality penalty weight λ₂ (default 1e-3). */
  lambda2: number;
  /** Adam learning rate (default 0.04). */
  lr: number;
  /** Outer steps at most (default 500). */
  maxSteps: number;
  /** Stop after this many steps without a better validation score (default 150). */
  patience: number;
  /** 32-bit unsigned seed (default 42). */
  seed: number;
  /** NTK depth (default 1). */
  depth: number;
  /** Outer loss: "softmax" (official code, default) or "logistic" (paper Eq. 3). */
  loss: ReconstructionLoss;
  /** Real users per step; default (null) all users. */
  batchSize: number | null;
  /** Users per Gram block in the score stage (default 256). */
  batchBlock: number;
  engine: GramEngine;
  /** 1 reproduces the official Adam step-count quirk (default 0: standard Adam). */
  adamBiasCorrectionOffset: number;
  /** Reproduce the official key-splitting quirk (sample 0 used twice; default false). */
  duplicateFirstSample: boolean;
}

export const DISTILL_DEFAULTS: Readonly<DistillOptions> = Object.freeze({
  mu: 500,
  gamma: 200,
  tau: 10,
  lambda: 1e-5,
  lambda2: 1e-3,
  lr: 0.04,
  maxSteps: 500,
  patience: 150,
  seed: 42,
  depth: 1,
  loss: "softmax",
  batchSize: null,
  batchBlock: 256,
  engine: float64GramEngine,
  adamBiasCorrectionOffset: 0,
  duplicateFirstSample: false,
});

export interface ValidationRequest {
  /** The candidate X̂ (μ × I, row-major, values in [0, 1]). */
  summary: Float64Array;
  mu: number;
  items: number;
  /** Outer step just completed. */
  step: number;
  /** λ in use before this validation. */
  lambda: number;
}

export interface ValidationResult {
  /** Higher is better (HR@100 in the protocol). */
  score: number;
  /** λ to use from now on (picked from the grid by the caller). */
  lambda: number;
}

export interface DistillStepInfo {
  step: number;
  loss: number;
  reconstruction: number;
  penalty: number;
  lambda: number;
  /** ‖∂loss/∂L‖₂. */
  gradientNorm: number;
  /** Wall time of the step (forward, backward, update) in seconds. */
  seconds: number;
}

export interface DistillHooks {
  validate?: (request: ValidationRequest) => ValidationResult | Promise<ValidationResult>;
  onStep?: (info: DistillStepInfo) => void;
}

export interface DistillResult {
  /** The best validated X̂, or the final one when no validation hook was given. */
  summary: Float64Array;
  mu: number;
  items: number;
  /** Step whose X̂ is returned. */
  bestStep: number;
  /** Its validation score (NaN without a validation hook). */
  bestScore: number;
  /** λ picked at that validation (the running λ without a hook). */
  lambda: number;
  stepsRun: number;
  stoppedEarly: boolean;
  /** Logits after the last step. */
  logits: Float64Array;
  /** Users whose rows initialised L. */
  initialUsers: Int32Array;
  losses: number[];
  validations: { step: number; score: number; lambda: number }[];
}

/** Binary dense rows of the given users, as a UserBatch. */
export function matrixUserBatch(train: InteractionMatrix, users: Int32Array): UserBatch {
  const items = train.numItems;
  return {
    rows: users.length,
    block(start: number, end: number): Float64Array {
      const out = new Float64Array((end - start) * items);
      for (let r = start; r < end; r++) {
        const base = (r - start) * items;
        for (const item of train.rowItems(users[r])) out[base + item] = 1;
      }
      return out;
    },
  };
}

function resolveOptions(partial: Partial<DistillOptions>, numUsers: number): DistillOptions {
  const o: DistillOptions = { ...DISTILL_DEFAULTS, ...partial };
  const positiveInt = (name: keyof DistillOptions, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`distill: ${name} must be an integer ≥ 1, got ${v}`);
  };
  positiveInt("mu", o.mu);
  positiveInt("gamma", o.gamma);
  positiveInt("maxSteps", o.maxSteps);
  positiveInt("patience", o.patience);
  positiveInt("depth", o.depth);
  positiveInt("batchBlock", o.batchBlock);
  if (o.mu > numUsers) throw new Error(`distill: mu = ${o.mu} exceeds the ${numUsers} users to initialise from`);
  if (!(o.tau > 0)) throw new Error(`distill: tau must be > 0, got ${o.tau}`);
  if (!(o.lambda >= 0) || !Number.isFinite(o.lambda)) throw new Error(`distill: lambda must be a finite number ≥ 0, got ${o.lambda}`);
  if (!(o.lambda2 >= 0)) throw new Error(`distill: lambda2 must be ≥ 0, got ${o.lambda2}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`distill: seed must be an integer in [0, 2^32), got ${o.seed}`);
  if (o.batchSize !== null) {
    positiveInt("batchSize", o.batchSize);
    if (o.batchSize > numUsers) throw new Error(`distill: batchSize ${o.batchSize} exceeds the ${numUsers} users`);
  }
  return o;
}

export async function distill(
  train: InteractionMatrix,
  options: Partial<DistillOptions> = {},
  hooks: DistillHooks = {},
): Promise<DistillResult> {
  const numUsers = train.numUsers;
  const items = train.numItems;
  if (numUsers < 1 || items < 1) throw new Error(`distill: empty training matrix (${numUsers}×${items})`);
  if (train.total <= 0) throw new Error("distill: the training matrix has no interactions");
  const o = resolveOptions(options, numUsers);
  const mu = o.mu;

  const initialUsers = sampleWithoutReplacement(o.seed, STREAM_INIT_USERS, 0, numUsers, mu);
  const logits = matrixUserBatch(train, initialUsers).block(0, mu);
  const allUsers = Int32Array.from({ length: numUsers }, (_, u) => u);
  const adam = new Adam(logits.length, { lr: o.lr, biasCorrectionOffset: o.adamBiasCorrectionOffset });
  const sampleCfg = { gamma: o.gamma, tau: o.tau };

  let lambda = o.lambda;
  let best: { summary: Float64Array; step: number; score: number; lambda: number } | null = null;
  const losses: number[] = [];
  const validations: { step: number; score: number; lambda: number }[] = [];
  let step = 0;
  let stoppedEarly = false;
  while (step < o.maxSteps) {
    step++;
    const started = performance.now();
    const users =
      o.batchSize === null || o.batchSize === numUsers
        ? allUsers
        : sampleWithoutReplacement(o.seed, STREAM_BATCH, step, numUsers, o.batchSize);
    const res = await distillObjective(
      logits,
      mu,
      items,
      matrixUserBatch(train, users),
      {
        ...sampleCfg,
        lambda,
        lambda2: o.lambda2,
        interactionsPerUser: train.total / numUsers,
        depth: o.depth,
        loss: o.loss,
        engine: o.engine,
        batchBlock: o.batchBlock,
      },
      stepNoise(o.seed, step, o.duplicateFirstSample),
    );
    const grad = res.dLogits;
    if (!grad) throw new Error("distill: objective returned no gradient");
    if (!Number.isFinite(res.loss)) throw new Error(`distill: loss became ${res.loss} at step ${step}`);
    adam.step(logits, grad);
    losses.push(res.loss);
    let norm = 0;
    for (let p = 0; p < grad.length; p++) norm += grad[p] * grad[p];
    hooks.onStep?.({
      step,
      loss: res.loss,
      reconstruction: res.reconstruction,
      penalty: res.penalty,
      lambda,
      gradientNorm: Math.sqrt(norm),
      seconds: (performance.now() - started) / 1000,
    });

    if (hooks.validate && isValidationStep(step)) {
      const { support } = sampleSupport(logits, mu, items, sampleCfg, stepNoise(o.seed, step + 1, o.duplicateFirstSample));
      const v = await hooks.validate({ summary: support, mu, items, step, lambda });
      if (!Number.isFinite(v.score)) throw new Error(`distill: validation score ${v.score} at step ${step} is not finite`);
      if (!(v.lambda >= 0) || !Number.isFinite(v.lambda)) throw new Error(`distill: validation picked lambda ${v.lambda} at step ${step}`);
      lambda = v.lambda;
      validations.push({ step, score: v.score, lambda: v.lambda });
      if (best === null || v.score > best.score) best = { summary: support, step, score: v.score, lambda: v.lambda };
      if (step - best.step >= o.patience) {
        stoppedEarly = true;
        break;
      }
    }
  }
  if (best === null) {
    const { support } = sampleSupport(logits, mu, items, sampleCfg, stepNoise(o.seed, step + 1, o.duplicateFirstSample));
    best = { summary: support, step, score: Number.NaN, lambda };
  }
  return {
    summary: best.summary,
    mu,
    items,
    bestStep: best.step,
    bestScore: best.score,
    lambda: best.lambda,
    stepsRun: step,
    stoppedEarly,
    logits,
    initialUsers,
    losses,
    validations,
  };
}
