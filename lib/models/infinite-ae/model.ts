/**
 * ∞-AE (docs/protocol.md §2): kernel ridge regression with the NTK of an
 * infinitely wide autoencoder. Fit: K_SS = K(X_S, X_S), α = (K_SS + c·I)⁻¹ X_S
 * with c = λ·tr(K_SS)/|S|. Score any users C from their item rows: K(X_C, X_S)·α.
 *
 * Support S is every training row (the official code's choice) or a seeded
 * random budget of users. When the context is the fitted training matrix itself
 * and S is all of it (validation), K_SS·α = X_S − c·α is exact, so no second
 * Gram or product is needed.
 */
import { Float32ScratchPool } from "../../util/scratch-pool.ts";
import type { InteractionMatrix } from "../../data/matrix.ts";
import { sparseRowSumSq } from "../../ntk/gram.ts";
import { type AeKernel, checkAeKernel } from "../../ntk/nngp.ts";
import { kernelCrossOfRows, kernelGramOfRows } from "../../ntk/sparse-gram.ts";
import { type Backend, type DeviceRequest, getBackend } from "../../onnx/backend.ts";
import { SpdSolver } from "../../linalg/spd-solver.ts";
import { ridgeShiftOfTrace } from "./duals.ts";
import { Rng } from "../../random.ts";
import type { DualsArtifact } from "./artifact.ts";
import { DeviceInfiniteAE } from "./device-engine.ts";
import { InfiniteAEFloat64 } from "./float64.ts";
import type { RankedBlock, RankRequest } from "../../ranking/ranked-block.ts";
import type { FitOptions, HyperParameters, Recommender } from "../model.ts";
import { type FitScratch, ScratchSlot } from "../scratch.ts";
import { timed, type Timings } from "../timings.ts";

/**
 * Supports of at most this many rows are fitted in float64 (InfiniteAEFloat64):
 * summaries are dense near-uniform rows whose kernels are too ill-conditioned
 * for a float32 solve at the small λ DISTILL-CF picks, and at this size float64
 * costs about a second.
 */
export const FLOAT64_MAX_SUPPORT = 1024;

/** Relative residual ‖K_reg·α − X‖/‖X‖ above which the duals are refused (checked on sampled columns). */
export const MAX_RESIDUAL = 1e-4;

export interface InfiniteAEOptions {
  /** Ridge strength λ (the regulariser is λ·tr(K)/|S|). */
  lambda: number;
  /** Hidden layers of the autoencoder (default 1). */
  depth?: number;
  /** "ntk" (the paper's, default) or "nngp": the same network's NNGP kernel (lib/ntk/nngp.ts; host engines only, no artifact). */
  kernel?: AeKernel;
  /** "all" training rows (default) or a number of randomly chosen users. */
  support?: "all" | number;
  /** Solve precision: float64 for supports ≤ FLOAT64_MAX_SUPPORT rows under "auto" (default), else float32. */
  precision?: "auto" | "float32" | "float64";
  device?: DeviceRequest;
  backend?: Backend;
  /**
   * Scratch shared by models of one grid search: the Gram of a training
   * matrix is computed once and reused for every λ.
   */
  scratch?: FitScratch;
  /** Seconds spent per phase (gram, factor, solve, score-gram, score-product) are added here. */
  timings?: Timings;
  /**
   * Where the float32 fit lives: "host" (buffers in JavaScript, ORT per
   * block), "device" (device-resident, the λ grid batched; device-engine.ts)
   * or "auto" (default): "device" on a GPU backend (webgpu, cuda), else "host".
   */
  engine?: "auto" | "host" | "device";
  /** The other λ of the grid, fitted in the same batch by the device engine. */
  lambdaBatch?: readonly number[];
  /**
   * The float64 small-support path's score precision (default "float64").
   * "float32" runs K(users, S)·α as a float32 Gemm: DISTILL-CF's validations
   * use it (ML-1M, 500-row summary: 12.6 → 5.5 s for six λ; HR@100 moved by
   * at most 0.0025 — near-tied users — at λ = 1e-5 and 1e-3, not at all above).
   */
  scorePrecision?: "float64" | "float32";
}

interface KernelState {
  train: InteractionMatrix;
  support: Int32Array | null;
  /** The support rows, kept sparse: the Grams densify blocks of them (sparse-gram.ts). */
  rows: InteractionMatrix;
  norms: Float32Array;
  /** K_SS; between fits its lower triangle may hold the last λ's factor (SpdSolver.factorInPlace restores it). */
  k: Float32Array;
  trace: number;
  solver: SpdSolver;
}

/** out = X[start:end] − c·α[start:end]: K_SS·α on the fitted rows, X read from its sparse rows. */
function fittedScores(out: Float32Array, x: InteractionMatrix, alpha: Float32Array, c: number, start: number, end: number): void {
  const m = x.numItems;
  const from = start * m;
  const count = (end - start) * m;
  for (let i = 0; i < count; i++) out[i] = 0 - c * alpha[from + i];
  for (let u = start; u < end; u++) {
    const row = (u - start) * m;
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) {
      const j = row + x.indices[p];
      out[j] = x.values[p] - c * alpha[from + j];
    }
  }
}

/** α buffers of disposed fits, for the next fit of the grid whose scratch holds the pool (none without a scratch). */
const ALPHA_SLOT = new ScratchSlot<Float32ScratchPool>("inf-ae:alpha");

/** Context rows and cross-kernel blocks of scoreBlock, reused from block to block. */
const blockPool = new Float32ScratchPool(2);

/**
 * Support rows, Σx² and K_SS of one training matrix and kernel (kind, depth,
 * support, seed), shared across a λ grid: one at a time (grids are
 * depth-major), the old K dropped before the next is built.
 */
const KERNEL_SLOT = new ScratchSlot<KernelState & { key: string }>("inf-ae:kernel");

export class InfiniteAE implements Recommender {
  readonly name = "inf-ae";
  readonly lambda: number;
  readonly depth: number;
  readonly kernel: AeKernel;
  readonly supportBudget: "all" | number;
  private backend?: Backend;
  /** What scoring needs of the kernel state: not K (the scratch keeps that for the grid's next λ). */
  private state?: Pick<KernelState, "train" | "support" | "rows" | "norms">;
  private alphaBuf?: Float32Array;
  /** The scratch's pool alphaBuf came from (it goes back there on dispose). */
  private alphaPool?: Float32ScratchPool;
  private shift = 0;
  /** The float64 model a small support is delegated to. */
  private small?: InfiniteAEFloat64;
  private smallTrain?: { train: InteractionMatrix; support: Int32Array | null; rows: InteractionMatrix };
  /** The device-resident fit (engine "device"). */
  private device?: { model: DeviceInfiniteAE; train: InteractionMatrix; support: Int32Array | null };

  constructor(private readonly options: InfiniteAEOptions) {
    if (!Number.isFinite(options.lambda) || options.lambda < 0) throw new Error(`InfiniteAE: λ must be finite and ≥ 0, got ${options.lambda}`);
    this.lambda = options.lambda;
    this.depth = options.depth ?? 1;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new Error(`InfiniteAE: depth must be an integer ≥ 1, got ${this.depth}`);
    this.kernel = checkAeKernel(options.kernel ?? "ntk");
    this.supportBudget = options.support ?? "all";
    if (this.supportBudget !== "all" && !(Number.isInteger(this.supportBudget) && this.supportBudget > 0)) {
      throw new Error(`InfiniteAE: support must be "all" or a positive integer, got ${this.supportBudget}`);
    }
    this.backend = options.backend;
  }

  private timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    return timed(this.options.timings, phase, work);
  }

  private async getBackend(): Promise<Backend> {
    this.backend ??= await getBackend({ device: this.options.device ?? "cpu" });
    return this.backend;
  }

  /** The seeded random support users, or null for every training row. */
  private supportUsers(train: InteractionMatrix, seed: number): Int32Array | null {
    if (this.supportBudget === "all" || this.supportBudget >= train.numUsers) return null;
    const order = new Rng(seed).shuffle(Int32Array.from({ length: train.numUsers }, (_, i) => i));
    return order.subarray(0, this.supportBudget).sort();
  }

  /** The support rows, their Σx² and K_SS for a training matrix; cached in `shared`. */
  private async kernelState(train: InteractionMatrix, seed: number, options: FitOptions): Promise<KernelState> {
    const key = `${this.kernelKey()}${this.depth}:${this.supportBudget}:${seed}`;
    const cached = this.options.scratch?.get(KERNEL_SLOT, "");
    if (cached && cached.train === train && cached.key === key) return cached;
    if (cached) cached.k = new Float32Array(0); // fitted models keep no K: it can go now
    const backend = await this.getBackend();
    const support = this.supportUsers(train, seed);
    const n = support ? support.length : train.numUsers;
    const rows = support ? train.selectUsers(support) : train;
    const norms = sparseRowSumSq(rows);
    // From sparse rows by blocks: no dense |S| × items copy (the duals take that much).
    const k = await this.timed("gram", () => kernelGramOfRows(backend, this.kernel, rows, { depth: this.depth }));
    options.onProgress?.(0.3, "gram");
    let trace = 0;
    for (let i = 0; i < n; i++) trace += k[i * n + i];
    const state = { key, train, support, rows, norms, k, trace, solver: new SpdSolver(backend) };
    this.options.scratch?.set(KERNEL_SLOT, "", state);
    return state;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    if (train.numUsers === 0 || train.numItems === 0) throw new Error(`InfiniteAE.fit: empty training matrix (${train.numUsers}×${train.numItems})`);
    if (train.nnz === 0) throw new Error("InfiniteAE.fit: the training matrix has no interactions");
    this.dispose(); // a refit drops the previous fit (its α buffer goes back to the pool)
    const precision = this.options.precision ?? "auto";
    const supportSize = this.supportBudget === "all" ? train.numUsers : Math.min(this.supportBudget, train.numUsers);
    if (precision === "float64" || (precision === "auto" && supportSize <= FLOAT64_MAX_SUPPORT)) {
      const support = this.supportUsers(train, options.seed ?? 42);
      const rows = support ? train.selectUsers(support) : train;
      this.small = new InfiniteAEFloat64({ lambda: this.lambda, depth: this.depth, kernel: this.kernel, backend: await this.getBackend(), scratch: this.options.scratch, scorePrecision: this.options.scorePrecision });
      await this.timed("float64 fit", () => this.small!.fit(rows));
      this.shift = this.small.shift;
      this.alphaBuf = this.small.alpha32;
      this.smallTrain = { train, support, rows };
      this.state = undefined;
      return;
    }
    this.small = undefined;
    this.smallTrain = undefined;
    if (await this.onDevice()) {
      const seed = options.seed ?? 42;
      const support = this.supportUsers(train, seed);
      const model = await DeviceInfiniteAE.fit({
        backend: await this.getBackend(), train, support, depth: this.depth, lambda: this.lambda,
        lambdaBatch: this.options.lambdaBatch, scratch: this.options.scratch, key: `${this.kernelKey()}${this.depth}:${this.supportBudget}:${seed}`,
        maxResidual: MAX_RESIDUAL, timings: this.options.timings,
      });
      this.device = { model, train, support };
      this.shift = model.shift;
      this.state = undefined;
      this.alphaBuf = undefined;
      options.onProgress?.(1, "solve");
      return;
    }
    const state = await this.kernelState(train, options.seed ?? 42, options);
    const n = state.support ? state.support.length : train.numUsers;
    // K's diagonal holds the previous λ's factor within a grid: the shift comes from the trace kept.
    this.shift = ridgeShiftOfTrace(state.trace, n, this.lambda);
    // Over K's own lower triangle (no second n × n buffer); the next λ restores K from the upper one.
    const factor = await this.timed("factor", () => state.solver.factorInPlace(state.k, n, this.shift));
    options.onProgress?.(0.6, "factor");
    // α's buffer comes from a disposed candidate of the grid when there is one (scratch-pool.ts);
    // it starts as X_S and is solved in place.
    const scratch = this.options.scratch;
    const pool = scratch ? (scratch.get(ALPHA_SLOT, "") ?? scratch.set(ALPHA_SLOT, "", new Float32ScratchPool(1))) : undefined;
    const alphaOut = pool ? pool.take(n * train.numItems).subarray(0, n * train.numItems) : new Float32Array(n * train.numItems);
    state.rows.denseRows(0, n, alphaOut);
    this.alphaBuf = await this.timed("solve", () => factor.solve(alphaOut, train.numItems, alphaOut, { maxResidual: MAX_RESIDUAL }));
    this.alphaPool = pool;
    options.onProgress?.(1, "solve");
    this.state = { train: state.train, support: state.support, rows: state.rows, norms: state.norms };
  }

  /** Scratch-key prefix: NTK and NNGP Grams of one matrix must not share an entry. */
  private kernelKey(): string {
    return this.kernel === "ntk" ? "" : `${this.kernel}:`;
  }

  /** Whether the float32 fit runs on the device engine. */
  private async onDevice(): Promise<boolean> {
    const engine = this.options.engine ?? "auto";
    if (engine !== "auto" && engine !== "host" && engine !== "device") throw new Error(`InfiniteAE: engine must be auto, host or device, got '${String(engine)}'`);
    // The device engine's graphs are the NTK's; the NNGP runs on the host engine.
    if (this.kernel === "nngp" && engine === "device") throw new Error("InfiniteAE: the NNGP kernel runs on the host engine only (engine 'host' or 'auto')");
    if (this.kernel === "nngp") return false;
    if (engine !== "auto") return engine === "device";
    const device = (await this.getBackend()).device;
    return device === "webgpu" || device === "cuda";
  }

  /** α (|S| × items), the support rows and their ids: what an artifact saves (host engines; see loadDuals). */
  get duals(): { alpha: Float32Array; support: Int32Array | null; shift: number } {
    if (this.device) throw new Error("InfiniteAE: the duals are on the device; use await model.loadDuals()");
    if (!this.alphaBuf || (!this.state && !this.smallTrain)) throw new Error("InfiniteAE: call fit first");
    return { alpha: this.alphaBuf, support: this.state ? this.state.support : this.smallTrain!.support, shift: this.shift };
  }

  /** The duals wherever they live (downloaded from the device engine). */
  async loadDuals(): Promise<{ alpha: Float32Array; support: Int32Array | null; shift: number }> {
    if (this.device) return { alpha: await this.device.model.hostDuals(), support: this.device.support, shift: this.shift };
    return this.duals;
  }

  /**
   * Ranks on the device engine (only k indices per user come back); null on the
   * host engines, whose scores are already on the host (on two CPU cores ranking
   * them in an ORT graph measured slower than TypeScript's top-k: 1.46 s against
   * about 0.9 s per ML-1M evaluation, the graph's extra full passes being memory-bound).
   */
  ranksOnDevice(): boolean {
    return this.device !== undefined;
  }

  async rankBlock(request: RankRequest): Promise<RankedBlock | null> {
    return this.device ? this.device.model.rankBlock(request) : null;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (this.device) return this.device.model.scoreBlock(context, start, end, out);
    if (this.small) return this.small.scoreBlock(context, start, end, out);
    const state = this.state;
    const alpha = this.alphaBuf;
    if (!state || !alpha) throw new Error("InfiniteAE.scoreBlock: call fit first");
    const m = state.train.numItems;
    if (context.numItems !== m) throw new Error(`InfiniteAE.scoreBlock: context has ${context.numItems} items, model ${m}`);
    const rows = end - start;
    if (context === state.train && state.support === null) {
      // K_SS·α = (K_SS + c·I)·α − c·α = X_S − c·α: exact, and free.
      fittedScores(out, state.rows, alpha, this.shift, start, end);
      return;
    }
    const backend = await this.getBackend();
    const n = state.support ? state.support.length : state.train.numUsers;
    // Both blocks are refilled from pooled buffers (scratch-pool.ts: fresh ones cost page faults).
    const ctxBuf = blockPool.take(rows * m);
    const kBuf = blockPool.take(rows * n);
    try {
      const ctx = context.denseRows(start, end, ctxBuf);
      const kcs = await this.timed("score-gram", () =>
        kernelCrossOfRows(backend, this.kernel, ctx, rows, state.rows, state.norms, { depth: this.depth, out: kBuf.subarray(0, rows * n) })
      );
      await this.timed("score-product", () => backend.matmul(kcs, [rows, n], alpha, [n, m], { out: out.subarray(0, rows * m) }));
    } finally {
      blockPool.give(ctxBuf);
      blockPool.give(kBuf);
    }
  }

  /** The saved-duals artifact of this fit (support rows, α, λ, depth). */
  async toArtifact(meta: { itemIds: readonly string[]; userIds?: readonly string[]; dataset?: DualsArtifact["dataset"] }): Promise<Omit<DualsArtifact, "alphaDType">> {
    if (this.kernel !== "ntk") throw new Error("InfiniteAE.toArtifact: the saved-duals format holds NTK models only");
    const { alpha, support } = await this.loadDuals();
    const train = this.device?.train ?? this.state?.train ?? this.smallTrain!.train;
    if (meta.itemIds.length !== train.numItems) throw new Error(`toArtifact: ${meta.itemIds.length} item ids for ${train.numItems} items`);
    const rows = support ?? Int32Array.from({ length: train.numUsers }, (_, i) => i);
    return {
      model: "inf-ae",
      lambda: this.lambda,
      depth: this.depth,
      shift: this.shift,
      support: support ? train.selectUsers(support) : train,
      supportUserIds: meta.userIds ? [...rows].map((u) => meta.userIds![u]) : [],
      alpha,
      itemIds: [...meta.itemIds],
      dataset: meta.dataset,
    };
  }

  /**
   * Releases the device-resident buffers this fit holds and hands α's host
   * buffer to the next fit (a grid disposes the candidates it drops): duals
   * read from this model must not be used after dispose().
   */
  dispose(): void {
    this.device?.model.dispose();
    this.device = undefined;
    if (this.alphaPool && this.alphaBuf) this.alphaPool.give(this.alphaBuf);
    this.alphaPool = undefined;
    this.alphaBuf = undefined;
  }

  hyperParameters(): HyperParameters {
    const kernel: HyperParameters = this.kernel === "ntk" ? {} : { kernel: this.kernel }; // NTK reports stay as before
    return { lambda: this.lambda, depth: this.depth, ...kernel, support: this.supportBudget, solve: this.small ? "float64" : "float32" };
  }
}
