/**
 * The DISTILL-CF run driver (docs/protocol.md §4) on the fast step (fast-step.ts):
 *
 * - L (μ × I) starts as μ seeded random real users' binary train rows.
 * - Step t samples X̂ with noise stream t, computes the loss on the batch (all
 *   users, or a seeded random subset per step) and takes one Adam step.
 * - Validation after steps 25, 50, …, 200, then every 40 (or every
 *   `validateEvery` steps; schedule.ts): the candidate is
 *   X̂ = sample(L, stream t + 1) — exactly the support step t + 1 samples, so
 *   the driver validates it there instead of sampling twice. λ is re-picked
 *   from `lambdaGrid` by validation HR@100 of an ∞-AE fitted on the candidate
 *   (as weighted rows) and scoring the real users; the best X̂ is kept.
 * - Early stop after `patience` steps without improvement (checked at
 *   validations). Aborting (signal) stops between stages and returns the best
 *   summary so far (or the current X̂ when nothing was validated yet).
 *
 * Options beyond the paper (issue 14; each off by default, and the defaults
 * run exactly the official algorithm above): a temperature schedule and a
 * λ pool (step-schedules.ts), low-rank logits L = U·V (lowrank.ts), learned
 * regression targets Y (kip.ts; the validation fits ∞-AE on (X̂, Y)) and EASE
 * as the inner model (ease-inner.ts; validation then picks EASE's λ).
 *
 * `runDistill` drives a DistillRun: its DistillState (λ, best, last score,
 * loss and support, stop reason, steps run, owed validation) changes only in
 * the named steps validateInitialCandidate, takeStep (with validateCandidate
 * before the step when one is owed), validateOwedCandidate and finish.
 */
import { SUMMARY_EASE_LAMBDAS, SUMMARY_INFINITE_AE_LAMBDAS } from "../models/registry.ts";
import { gridSearch } from "../eval/grid.ts";
import { type Dataset, sampleUsers, usersDataset } from "../data/dataset.ts";
import { tuneModel } from "../tuning/tune.ts";
import { type Backend, type DeviceRequest, getBackend } from "../onnx/backend.ts";
import { Adam } from "./adam.ts";
import type { FastSampleConfig } from "./fast-sample.ts";
import { denseBatch, type DenseBatch, emptyStepTimings, FastDistillEngine, type StepTimings, DEFAULT_STORE_NOISE_BYTES } from "./fast-step.ts";
import { STREAM_BATCH, STREAM_INIT_USERS, sampleWithoutReplacement } from "./rng.ts";
import { validatesAfter } from "./schedule.ts";
import { checkTauSchedule, lambdaFromPool, tauAt, type TauSchedule } from "./step-schedules.ts";
import { initLowRank, lowRankBackward, lowRankProduct, type LowRankLogits } from "./lowrank.ts";
import { TargetedInfiniteAE } from "./kip.ts";
import { FastEaseInner } from "./ease-inner.ts";
import { makeSummary, summaryToMatrix, type Summary } from "./summary.ts";

export const DISTILL_LAMBDA_GRID: readonly number[] = SUMMARY_INFINITE_AE_LAMBDAS;
/** The λ grid when distilling through EASE (EASE's summary grid; its λ is not scaled). */
export const DISTILL_EASE_LAMBDA_GRID: readonly number[] = SUMMARY_EASE_LAMBDAS;

/** The model fitted on X̂ inside each step: ∞-AE (the paper) or EASE (ease-inner.ts). */
export type DistillInnerModel = "inf-ae" | "ease";
export const DISTILL_INNER_MODELS: readonly DistillInnerModel[] = ["inf-ae", "ease"];

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
  /**
   * λ candidates re-picked at each validation (default {1e-5, 1e-3, 0.1, 1,
   * 5, 50}; with inner "ease" and no grid given, DISTILL_EASE_LAMBDA_GRID).
   */
  lambdaGrid: readonly number[];
  /** NTK depth (default 1). */
  depth: number;
  device: DeviceRequest;
  /** Sampling worker threads (default 2). */
  samplingWorkers: number;
  /**
   * Where the Gumbel sampling runs: "workers" (CPU threads), "device" (graphs
   * on the backend's device; device-noise.ts's stream, so a different draw for
   * the same seed), or "auto" (default): "device" on a GPU backend, else "workers".
   */
  sampling: "auto" | "workers" | "device";
  /** Precision of the inner solve's μ × I products (FastEngineOptions.innerPrecision; default "float32"). */
  innerPrecision: "float32" | "float64";
  /** See FastEngineOptions.storeNoiseBytes (default 2 GiB). */
  storeNoiseBytes: number;
  /** Users per block in the batch stage (default 2048). */
  batchBlock: number;
  /** Validation metric (default "HR@100"). */
  metric: string;
  /**
   * Validate on this many seeded users (sampleUsers with the run's seed, so
   * the users a caller scores with the same seed) instead of every user; null
   * = every user (default). At Netflix's 480,189 users one validation of the
   * λ grid on all users costs minutes.
   */
  validationUsers: number | null;
  /**
   * Precision of the ∞-AE validation's scores (default "float32": half the
   * time of float64 on ML-1M, validation HR@100 within 0.0025; see
   * InfiniteAEOptions.scorePrecision). The kept summary's final evaluation is
   * unaffected.
   */
  validationScores: "float32" | "float64";
  /** Validate every this many steps instead of the official schedule (25, 50, …, 200, then every 40); null = official (default). */
  validateEvery: number | null;
  /** 1 reproduces the official Adam step-count quirk (default 0). */
  adamBiasCorrectionOffset: number;
  /** Reproduce the official key-splitting quirk (default false). */
  duplicateFirstSample: boolean;
  /** τ of each noise stream from a schedule (step-schedules.ts) instead of the fixed `tau`; null = fixed (default). */
  tauSchedule: TauSchedule | null;
  /**
   * The inner solve's λ of each step drawn (seeded) from this pool, or from
   * `lambdaGrid` with "grid", instead of the last validation's pick; the
   * validations still pick the summary's λ. null = off (default).
   */
  lambdaPool: readonly number[] | "grid" | null;
  /** Low-rank logits L = U·V with U μ × d, V d × I of this rank d; null = full logits (default). */
  logitRank: number | null;
  /** Learn regression targets Y apart from X̂ (KIP), initialised to the first X̂; inner "inf-ae" only (default false). */
  learnTargets: boolean;
  /** Inner model fitted on X̂ each step (default "inf-ae"). */
  inner: DistillInnerModel;
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
  sampling: "auto",
  innerPrecision: "float32",
  storeNoiseBytes: DEFAULT_STORE_NOISE_BYTES,
  batchBlock: 2048,
  metric: "HR@100",
  validationUsers: null,
  validationScores: "float32",
  validateEvery: null,
  adamBiasCorrectionOffset: 0,
  duplicateFirstSample: false,
  tauSchedule: null,
  lambdaPool: null,
  logitRank: null,
  learnTargets: false,
  inner: "inf-ae",
});

/** A smoke-run budget for --quick modes: one validation (step 25), few Gumbel samples, 512 real users per step. */
export const QUICK_DISTILL_OPTIONS: Readonly<Partial<RunDistillOptions>> = Object.freeze({ gamma: 5, steps: 26, batchSize: 512, samplingWorkers: 0 });

export type DistillLogEntry =
  | {
      type: "step";
      step: number;
      loss: number;
      reconstruction: number;
      penalty: number;
      lambda: number;
      gradientNorm: number;
      seconds: number;
      timings: StepTimings;
      /** τ of the step's sample, with a temperature schedule only. */
      tau?: number;
    }
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
  /** With learnTargets: Y (μ × I) as it was when the summary was validated (kip.ts), else null. */
  targets: Float32Array | null;
}

/** Where the sampling runs for an option value on a backend ("auto": the device on a GPU). */
export function samplingOn(sampling: RunDistillOptions["sampling"], backend: Backend): "workers" | "device" {
  if (sampling !== "auto") return sampling;
  return backend.device === "webgpu" || backend.device === "cuda" ? "device" : "workers";
}

/** Options resolved: the λ pool as numbers. */
type ResolvedOptions = Omit<RunDistillOptions, "lambdaPool"> & { lambdaPool: readonly number[] | null };

function resolve(partial: Partial<RunDistillOptions>, numUsers: number, numItems: number): ResolvedOptions {
  const given: RunDistillOptions = { ...RUN_DISTILL_DEFAULTS, ...partial };
  if (!DISTILL_INNER_MODELS.includes(given.inner)) throw new Error(`runDistill: inner must be one of ${DISTILL_INNER_MODELS.join(", ")}, got ${String(given.inner)}`);
  if (given.validationScores !== "float32" && given.validationScores !== "float64") throw new Error(`runDistill: validationScores must be float32 or float64, got ${String(given.validationScores)}`);
  const lambdaGrid = partial.lambdaGrid === undefined && given.inner === "ease" ? DISTILL_EASE_LAMBDA_GRID : given.lambdaGrid;
  const o: ResolvedOptions = { ...given, lambdaGrid, lambdaPool: given.lambdaPool === "grid" ? lambdaGrid : given.lambdaPool };
  const int = (name: keyof RunDistillOptions, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`runDistill: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int("mu", o.mu, 1);
  int("gamma", o.gamma, 1);
  int("steps", o.steps, 1);
  int("patience", o.patience, 1);
  int("depth", o.depth, 1);
  int("samplingWorkers", o.samplingWorkers, 0);
  if (o.innerPrecision !== "float32" && o.innerPrecision !== "float64") throw new Error(`runDistill: innerPrecision must be float32 or float64, got ${String(o.innerPrecision)}`);
  if (!["auto", "workers", "device"].includes(o.sampling)) throw new Error(`runDistill: sampling must be auto, workers or device, got ${String(o.sampling)}`);
  int("batchBlock", o.batchBlock, 1);
  if (o.mu > numUsers) throw new Error(`runDistill: mu = ${o.mu} exceeds the ${numUsers} users to initialise from`);
  if (!(o.tau > 0) || !Number.isFinite(o.tau)) throw new Error(`runDistill: tau must be a finite number > 0, got ${o.tau}`);
  if (!(o.cardReg >= 0) || !Number.isFinite(o.cardReg)) throw new Error(`runDistill: cardReg must be a finite number ≥ 0, got ${o.cardReg}`);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`runDistill: lr must be a finite number > 0, got ${o.lr}`);
  if (o.initialLambda !== "validated" && (!(o.initialLambda >= 0) || !Number.isFinite(o.initialLambda))) throw new Error(`runDistill: initialLambda must be a finite number ≥ 0, got ${o.initialLambda}`);
  if (o.lambdaGrid.length === 0 || o.lambdaGrid.some((l) => !(l >= 0) || !Number.isFinite(l))) throw new Error(`runDistill: lambdaGrid must be finite numbers ≥ 0, got [${o.lambdaGrid.join(", ")}]`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`runDistill: seed must be an integer in [0, 2^32), got ${o.seed}`);
  if (o.validateEvery !== null) int("validateEvery", o.validateEvery, 1);
  if (o.validationUsers !== null) int("validationUsers", o.validationUsers, 1);
  if (o.tauSchedule !== null) checkTauSchedule("runDistill: tauSchedule", o.tauSchedule);
  if (o.lambdaPool !== null && (o.lambdaPool.length === 0 || o.lambdaPool.some((l) => !(l >= 0) || !Number.isFinite(l)))) {
    throw new Error(`runDistill: lambdaPool must be finite numbers ≥ 0, got [${o.lambdaPool.join(", ")}]`);
  }
  if (o.logitRank !== null) {
    int("logitRank", o.logitRank, 1);
    if (o.logitRank > Math.min(o.mu, numItems)) throw new Error(`runDistill: logitRank ${o.logitRank} exceeds min(μ, items) = ${Math.min(o.mu, numItems)}`);
  }
  if (o.inner === "ease") {
    if (o.learnTargets) throw new Error("runDistill: learnTargets needs the inner model inf-ae (EASE regresses X̂ on itself; kip.ts)");
    // Woodbury needs λ > 0 (EASE's λ is not scaled by a trace either).
    const positive = (what: string, ls: readonly number[]): void => {
      if (ls.some((l) => !(l > 0))) throw new Error(`runDistill: with inner ease, ${what} must be > 0, got [${ls.join(", ")}]`);
    };
    positive("lambdaGrid", o.lambdaGrid);
    if (o.lambdaPool !== null) positive("lambdaPool", o.lambdaPool);
    if (o.initialLambda !== "validated") positive("initialLambda", [o.initialLambda]);
  }
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

type StopReason = DistillRunResult["stopReason"];

/** An X̂ (μ × I) as the candidate of `step`, i.e. sampled with noise stream step + 1. */
interface SampledCandidate {
  values: Float64Array;
  step: number;
  /** With learned targets: Y when the candidate was validated. */
  targets?: Float64Array;
}

/** A validated candidate with its score and the λ its validation picked. */
interface ScoredCandidate extends SampledCandidate {
  score: number;
  lambda: number;
}

/** What one run has learned so far; only DistillRun's steps change it. */
interface DistillState {
  /** λ of the inner solve: the initial one, then each validation's pick. */
  lambda: number;
  /** The best validated candidate (null before the first validation). */
  best: ScoredCandidate | null;
  /** Last validation score (NaN before the first). */
  lastScore: number;
  /** Loss of the last completed step (NaN before the first). */
  lastLoss: number;
  /** The last X̂ sampled (the fallback summary when nothing was validated). */
  lastSupport: SampledCandidate | null;
  stopReason: StopReason;
  /** Steps whose Adam update was applied. */
  stepsRun: number;
  /** A step whose candidate is still to be validated (it is the next sample). */
  pendingValidation: number | null;
}

/**
 * One DISTILL-CF run: the fixed context (options, engine, batch, logits,
 * Adam), the mutable DistillState, and the named steps runDistill drives.
 */
class DistillRun {
  readonly history: DistillLogEntry[] = [];
  readonly state: DistillState;
  private readonly numUsers: number;
  private readonly items: number;
  private readonly interactionsPerUser: number;
  private readonly initialUsers: Int32Array;
  /** L (μ × I): the parameters, or U·V materialised for the sampler with low-rank logits. */
  private readonly logits: Float64Array;
  /** Adam on L (full logits) or null (low-rank: adamU and adamV). */
  private readonly adam: Adam | null;
  private readonly lowRank: LowRankLogits | null;
  private readonly adamU: Adam | null;
  private readonly adamV: Adam | null;
  /** Learned targets Y (μ × I), set by initTargets; null when not learned. */
  private targets: Float64Array | null = null;
  private adamTargets: Adam | null = null;
  /** The EASE inner model's products (inner "ease"). */
  private readonly easeInner: FastEaseInner | null;
  /** The batch of every step when it holds all users (null: a seeded subset per step). */
  private readonly fullBatch: DenseBatch | null;
  /** The users validations score (every user unless validationUsers). */
  private readonly validationData: Dataset;

  private constructor(
    private readonly ds: Dataset,
    readonly o: ResolvedOptions,
    private readonly hooks: RunDistillHooks,
    /** performance.now() when the run began. */
    private readonly started: number,
    private readonly backend: Backend,
    private readonly engine: FastDistillEngine,
  ) {
    const train = ds.train;
    this.numUsers = train.numUsers;
    this.items = train.numItems;
    this.initialUsers = sampleWithoutReplacement(o.seed, STREAM_INIT_USERS, 0, this.numUsers, o.mu);
    this.logits = new Float64Array(o.mu * this.items);
    for (let r = 0; r < o.mu; r++) for (const i of train.rowItems(this.initialUsers[r])) this.logits[r * this.items + i] = 1;
    const adamOptions = { lr: o.lr, biasCorrectionOffset: o.adamBiasCorrectionOffset };
    if (o.logitRank === null) {
      this.lowRank = null;
      this.adamU = this.adamV = null;
      this.adam = new Adam(this.logits.length, adamOptions);
    } else {
      this.lowRank = initLowRank(this.logits, o.mu, this.items, o.logitRank);
      lowRankProduct(this.lowRank, this.logits);
      this.adam = null;
      this.adamU = new Adam(this.lowRank.u.length, adamOptions);
      this.adamV = new Adam(this.lowRank.v.length, adamOptions);
    }
    this.easeInner = o.inner === "ease" ? new FastEaseInner(backend) : null;
    this.fullBatch = o.batchSize === null || o.batchSize === this.numUsers ? binaryBatch(ds, null) : null;
    this.interactionsPerUser = train.total / this.numUsers;
    this.validationData = o.validationUsers === null ? ds : usersDataset(ds, sampleUsers(this.numUsers, o.validationUsers, o.seed));
    this.state = {
      lambda: o.initialLambda === "validated" ? o.lambdaGrid[0] : o.initialLambda,
      best: null,
      lastScore: Number.NaN,
      lastLoss: Number.NaN,
      lastSupport: null,
      stopReason: "max-steps",
      stepsRun: 0,
      pendingValidation: null,
    };
  }

  /** Checks the data and options, gets the backend and starts the engine (its sampling workers). */
  static async create(ds: Dataset, options: Partial<RunDistillOptions>, hooks: RunDistillHooks): Promise<DistillRun> {
    const train = ds.train;
    if (train.numUsers < 1 || train.numItems < 1 || train.nnz === 0) {
      throw new Error(`runDistill: empty training matrix (${train.numUsers}×${train.numItems}, ${train.nnz} interactions)`);
    }
    const o = resolve(options, train.numUsers, train.numItems);
    const started = performance.now();
    const backend = hooks.backend ?? (await getBackend({ device: o.device }));
    const engine = new FastDistillEngine(backend, { samplingWorkers: o.samplingWorkers, storeNoiseBytes: o.storeNoiseBytes, sampling: samplingOn(o.sampling, backend), innerPrecision: o.innerPrecision });
    return new DistillRun(ds, o, hooks, started, backend, engine);
  }

  aborted(): boolean {
    return this.hooks.signal?.aborted === true;
  }

  /** Stops the engine's sampling workers. */
  async close(): Promise<void> {
    await this.engine.close();
  }

  private log(e: DistillLogEntry): void {
    this.history.push(e);
    this.hooks.onLog?.(e);
  }

  private elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** τ of the sample with noise stream `stream`: the schedule's, or the fixed τ. */
  private tauOf(stream: number): number {
    const o = this.o;
    return o.tauSchedule === null ? o.tau : tauAt(o.tauSchedule, stream, o.steps);
  }

  /** The inner solve's λ at `step`: drawn from the pool, or the last validation's pick. */
  private lambdaOf(step: number): number {
    const o = this.o;
    return o.lambdaPool === null ? this.state.lambda : lambdaFromPool(o.seed, step, o.lambdaPool);
  }

  private sampleConfig(stream: number): FastSampleConfig {
    const o = this.o;
    return { gamma: o.gamma, tau: this.tauOf(stream), seed: o.seed, step: stream, duplicateFirstSample: o.duplicateFirstSample };
  }

  /** With learnTargets: Y starts as the first X̂ (what step 1 samples), so step 1's loss is the paper's. */
  async initTargets(): Promise<void> {
    if (!this.o.learnTargets) return;
    this.targets = await this.engine.sampleSupport(this.logits, this.o.mu, this.items, this.sampleConfig(1));
    this.adamTargets = new Adam(this.targets.length, { lr: this.o.lr, biasCorrectionOffset: this.o.adamBiasCorrectionOffset });
  }

  /** One Adam step on the logits (L, or U and V through dU = dL·Vᵀ, dV = Uᵀ·dL) and, when learned, on Y. */
  private update(dLogits: Float64Array, dTargets: Float64Array | null): void {
    if (this.adam) {
      this.adam.step(this.logits, dLogits);
    } else if (this.lowRank && this.adamU && this.adamV) {
      const { dU, dV } = lowRankBackward(this.lowRank, dLogits);
      this.adamU.step(this.lowRank.u, dU);
      this.adamV.step(this.lowRank.v, dV);
      lowRankProduct(this.lowRank, this.logits);
    }
    if (this.targets && this.adamTargets) {
      if (!dTargets) throw new Error("runDistill: the step returned no gradient for the learned targets");
      this.adamTargets.step(this.targets, dTargets);
    }
  }

  /** Samples the candidate of `step` (noise stream step + 1) outside a step, and remembers it as the last support. */
  private async sampleCandidate(step: number): Promise<Float64Array> {
    const support = await this.engine.sampleSupport(this.logits, this.o.mu, this.items, this.sampleConfig(step + 1));
    this.state.lastSupport = { values: support, step };
    return support;
  }

  /**
   * Validates the candidate X̂ of `step`: re-picks λ from the grid by the
   * validation metric of an ∞-AE fitted on it, keeps it when it beats the best
   * and logs the validation. Returns false when `patience` steps have passed
   * since the best (stop early).
   */
  async validateCandidate(support: Float64Array, step: number): Promise<boolean> {
    const { ds, o, state, validationData } = this;
    const t0 = performance.now();
    const candidate = makeSummary(
      { dataset: ds.name, mu: o.mu, items: this.items, itemIds: [...ds.itemIds], lambda: state.lambda, tau: this.tauOf(step + 1), gamma: o.gamma, seed: o.seed, step, score: null },
      support,
    );
    const train = summaryToMatrix(candidate);
    const common = { metric: o.metric, aucNegatives: 0, onSkip: () => {} };
    const targets = this.targets ? Float64Array.from(this.targets) : undefined;
    const result =
      o.inner === "ease"
        ? await tuneModel(validationData, "ease", { ...common, grid: o.lambdaGrid.map((l) => ({ lambda: l })), train, summary: true, build: { backend: this.backend } })
        : targets
          ? // ∞-AE regressing the learned targets Y on the inputs X̂ (kip.ts).
            await gridSearch(validationData, o.lambdaGrid, (l) => new TargetedInfiniteAE({ lambda: l, depth: o.depth, targets, backend: this.backend }), { ...common, train })
          : await tuneModel(validationData, "inf-ae", { ...common, grid: o.lambdaGrid.map((l) => ({ lambda: l, depth: o.depth })), train, summary: true, build: { backend: this.backend, scorePrecision: o.validationScores } });
    const score = result.best.validation.metrics[o.metric];
    if (!Number.isFinite(score)) throw new Error(`runDistill: validation ${o.metric} ${score} at step ${step} is not finite`);
    const lambdaOfPoint = (params: unknown): number => (typeof params === "number" ? params : Number((params as { lambda: unknown }).lambda));
    state.lambda = lambdaOfPoint(result.best.params);
    state.lastScore = score;
    const scores: Record<string, number> = {};
    for (const pt of result.points) scores[String(lambdaOfPoint(pt.params))] = pt.validation.metrics[o.metric];
    const isBest = state.best === null || score > state.best.score;
    if (isBest) state.best = { values: support, step, score, lambda: state.lambda, ...(targets ? { targets } : {}) };
    this.log({ type: "validation", step, score, lambda: state.lambda, best: isBest, scores, seconds: (performance.now() - t0) / 1000 });
    return state.best === null || step - state.best.step < o.patience;
  }

  /** With initialLambda "validated": validates the initial X̂ as step 0 (what step 1 samples) to pick the starting λ. */
  async validateInitialCandidate(): Promise<void> {
    if (this.o.initialLambda !== "validated" || this.aborted()) return;
    await this.validateCandidate(await this.sampleCandidate(0), 0);
  }

  /**
   * Runs when step `step` has sampled its X̂ (the candidate of step − 1): validates it if a
   * validation is owed. Returns false to cancel the step: the run stops early
   * (out of patience) or was aborted during the validation.
   */
  private async validateBeforeStep(support: Float64Array, step: number): Promise<boolean> {
    const { state } = this;
    state.lastSupport = { values: support, step: step - 1 };
    if (state.pendingValidation === null) return true;
    const owed = state.pendingValidation;
    state.pendingValidation = null;
    if (!(await this.validateCandidate(support, owed))) {
      state.stopReason = "early-stop";
      return false;
    }
    if (this.aborted()) {
      state.stopReason = "interrupted";
      return false;
    }
    return true;
  }

  /** Real users of `step`: all of them, or a seeded subset. */
  private batchOf(step: number): DenseBatch {
    const o = this.o;
    return this.fullBatch ?? binaryBatch(this.ds, sampleWithoutReplacement(o.seed, STREAM_BATCH, step, this.numUsers, o.batchSize ?? this.numUsers));
  }

  /**
   * Step `step` through EASE: samples X̂ with the engine's pool (validating it
   * first when owed, as the ∞-AE step does), EASE's loss and dX̂
   * (ease-inner.ts), then the pool's backward to dL. Null when cancelled.
   */
  private async easeStep(
    inner: FastEaseInner,
    step: number,
    lambda: number,
  ): Promise<{ loss: number; reconstruction: number; penalty: number; dLogits: Float64Array | null; dTargets: null; timings: StepTimings } | null> {
    const o = this.o;
    const timings = emptyStepTimings();
    const cfg = this.sampleConfig(step);
    let t = performance.now();
    const support = Float64Array.from((await this.engine.sampling.sample(this.logits, o.mu, this.items, cfg)).support);
    timings.sampling = (performance.now() - t) / 1000;
    if (!(await this.validateBeforeStep(support, step))) return null;
    t = performance.now();
    const res = await inner.objective(support, o.mu, this.items, this.batchOf(step), {
      lambda,
      lambda2: o.cardReg,
      interactionsPerUser: this.interactionsPerUser,
      loss: "softmax",
      batchBlock: o.batchBlock,
    });
    timings.loss = (performance.now() - t) / 1000;
    if (!res.dSupport) throw new Error("runDistill: the EASE inner model returned no gradient");
    t = performance.now();
    const dLogits = await this.engine.sampling.backward(o.mu, this.items, cfg, res.dSupport);
    timings.samplingBackward = (performance.now() - t) / 1000;
    return { loss: res.loss, reconstruction: res.reconstruction, penalty: res.penalty, dLogits, dTargets: null, timings };
  }

  /**
   * Outer step `step`: samples X̂ with stream `step` (validating it first when
   * a validation is owed), computes the loss and gradient, takes one Adam step,
   * logs it and schedules the next validation. Returns false when the run stops
   * here (the step was cancelled before its update).
   */
  async takeStep(step: number): Promise<boolean> {
    const { o, state } = this;
    const t0 = performance.now();
    const lambda = this.lambdaOf(step);
    const res =
      this.easeInner === null
        ? await this.engine.step(
            this.logits,
            o.mu,
            this.items,
            this.batchOf(step),
            {
              gamma: o.gamma,
              tau: this.tauOf(step),
              seed: o.seed,
              step,
              lambda,
              lambda2: o.cardReg,
              interactionsPerUser: this.interactionsPerUser,
              depth: o.depth,
              loss: "softmax",
              batchBlock: o.batchBlock,
              duplicateFirstSample: o.duplicateFirstSample,
              targets: this.targets,
            },
            true,
            (support) => this.validateBeforeStep(support, step),
          )
        : await this.easeStep(this.easeInner, step, lambda);
    if (res === null) return false;
    const grad = res.dLogits;
    if (!grad) throw new Error("runDistill: the step returned no gradient");
    if (!Number.isFinite(res.loss)) throw new Error(`runDistill: loss became ${res.loss} at step ${step}`);
    this.update(grad, res.dTargets);
    // Logged as before: without a pool, the λ after a validation run inside this step (the
    // step's solve itself used the λ fixed before it, `lambda`).
    const loggedLambda = o.lambdaPool === null ? state.lambda : lambda;
    state.stepsRun = step;
    state.lastLoss = res.loss;
    let norm = 0;
    for (let p = 0; p < grad.length; p++) norm += grad[p] * grad[p];
    this.log({
      type: "step",
      step,
      loss: res.loss,
      reconstruction: res.reconstruction,
      penalty: res.penalty,
      lambda: loggedLambda,
      gradientNorm: Math.sqrt(norm),
      seconds: (performance.now() - t0) / 1000,
      timings: res.timings,
      ...(o.tauSchedule === null ? {} : { tau: this.tauOf(step) }),
    });
    this.hooks.onProgress?.({
      step,
      maxSteps: o.steps,
      loss: state.lastLoss,
      lastScore: state.lastScore,
      bestScore: state.best?.score ?? Number.NaN,
      lambda: loggedLambda,
      elapsed: this.elapsed(),
    });
    if (validatesAfter(step, o.validateEvery)) state.pendingValidation = step;
    return true;
  }

  /**
   * After the loop: a validation still owed (the last step was a validation
   * step and no later step sampled its candidate) samples and validates it;
   * then an abort that ended the loop is recorded as "interrupted".
   */
  async validateOwedCandidate(): Promise<void> {
    const { state } = this;
    // Pending only when the loop ran out of steps: an early stop or an
    // interrupted validation cleared it, and no step ran after them.
    if (state.pendingValidation !== null && !this.aborted()) {
      const owed = state.pendingValidation;
      if (!(await this.validateCandidate(await this.sampleCandidate(owed), owed))) state.stopReason = "early-stop";
    }
    if (this.aborted() && state.stopReason === "max-steps") state.stopReason = "interrupted";
  }

  /**
   * The run's result: the best validated X̂, or (nothing validated) the
   * candidate of the last step, sampled now unless it was sampled already;
   * logs the stop entry.
   */
  async finish(): Promise<DistillRunResult> {
    const { ds, o, state } = this;
    let chosen = state.best;
    if (chosen === null) {
      const last = state.lastSupport;
      let support: Float64Array;
      if (last && last.step === state.stepsRun) support = last.values;
      else {
        // The run's engine is closed by now: a worker-less one on the same noise stream.
        const engine = new FastDistillEngine(this.backend, { samplingWorkers: 0, storeNoiseBytes: 0, sampling: samplingOn(o.sampling, this.backend) });
        support = await engine.sampleSupport(this.logits, o.mu, this.items, this.sampleConfig(state.stepsRun + 1));
        await engine.close();
      }
      chosen = { values: support, step: state.stepsRun, score: Number.NaN, lambda: state.lambda, ...(this.targets ? { targets: Float64Array.from(this.targets) } : {}) };
    }
    const summary = makeSummary(
      {
        dataset: ds.name,
        mu: o.mu,
        items: this.items,
        itemIds: [...ds.itemIds],
        lambda: chosen.lambda,
        tau: this.tauOf(chosen.step + 1),
        gamma: o.gamma,
        seed: o.seed,
        step: chosen.step,
        score: Number.isFinite(chosen.score) ? chosen.score : null,
      },
      chosen.values,
    );
    this.log({ type: "stop", step: state.stepsRun, reason: state.stopReason, bestStep: chosen.step, bestScore: summary.header.score });
    return {
      summary,
      lambda: chosen.lambda,
      bestStep: chosen.step,
      bestScore: summary.header.score,
      stepsRun: state.stepsRun,
      stopReason: state.stopReason,
      history: this.history,
      initialUsers: this.initialUsers,
      targets: chosen.targets ? Float32Array.from(chosen.targets) : null,
    };
  }
}

export async function runDistill(ds: Dataset, options: Partial<RunDistillOptions> = {}, hooks: RunDistillHooks = {}): Promise<DistillRunResult> {
  const run = await DistillRun.create(ds, options, hooks);
  try {
    await run.initTargets();
    await run.validateInitialCandidate();
    for (let step = 1; step <= run.o.steps && !run.aborted(); step++) {
      if (!(await run.takeStep(step))) break;
    }
    await run.validateOwedCandidate();
  } finally {
    await run.close();
  }
  return run.finish();
}
