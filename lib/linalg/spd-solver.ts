/**
 * Symmetric positive definite solves (K + c·I)·α = X on ONNX Runtime, for K
 * (n × n) and X (n × m), row-major float32.
 *
 *   const solver = new SpdSolver(backend);               // owns the reusable buffers
 *   for (const shift of [0.1, 1, 10]) {
 *     const factor = await solver.factor(K, n, shift);    // K is only read
 *     const alpha = await factor.solve(X, m, undefined, { maxResidual: 1e-4 });
 *   }
 *
 * Algorithm (cholesky.ts): left-looking blocked Cholesky into a
 * separate L buffer (K is never written, so one K serves every λ), or over
 * K's own lower triangle with `factorInPlace` (K's strict upper triangle and
 * its saved diagonal still hold K, so it is restored for the next λ: one
 * n × n buffer instead of two), then blocked forward/backward substitution
 * whose steps are GEMMs with the inverted diagonal blocks, written straight
 * into α (no n × m scratch). All O(n³) and O(n²m) work runs as ORT Gemm/MatMul; only the
 * b × b diagonal blocks are factored and inverted in TypeScript (float64).
 *
 * A pivot ≤ minPivotRatio × its diagonal entry throws `SingularKernelError`
 * (e.g. λ = 0 on a kernel with duplicate users) instead of returning garbage;
 * `maxResidual` also checks the residual on a few sampled columns. ∞-AE's
 * duals (λ → c = λ·tr(K)/n) are lib/models/infinite-ae/duals.ts.
 */
import type { Backend } from "../onnx/backend.ts";
import {
  blockedCholesky,
  blockedCholeskySolve,
  blockedUnitSolve,
  checkBlockSize,
  checkSolveShapes,
  DEFAULT_MIN_PIVOT_RATIO,
  diagonalInverses,
  SingularKernelError,
  unitForm,
  type BlockedCholesky,
  type CholeskyKernels,
  type CholeskyVariant,
  type DiagonalBlockFactorer,
} from "./cholesky.ts";
import { sharedBlockFactorPool } from "./block-factor.ts";
import { blockKernel } from "./block-kernel.ts";
import { logicalCores } from "../util/worker.ts";
import { OrtCholeskyKernels } from "./ort-kernels.ts";

/**
 * Factor block size (bench/solve.ts, n = 6040, 2 cores): 128, 256 and 512 took
 * about the same CPU time; 256 keeps the TypeScript diagonal-block work small
 * (≈ 9 ms per block; 512 costs ≈ 90 ms per block) and halves the strided copies of 128.
 */
export const DEFAULT_BLOCK_SIZE = 256;
/**
 * Solve block size: 256 beat 128 (3.3 vs 4.0 CPU s for m = 3706): every step
 * re-packs the finished rows of Y, so fewer, taller steps pay less; 512 needs
 * diagonal inverses recomputed in TypeScript.
 */
export const DEFAULT_SOLVE_BLOCK_SIZE = 256;

/**
 * The default block sizes in use: INFREC_HOST_BLOCK ("f" or "f,s") when set (a
 * benchmarking knob), else DEFAULT_BLOCK_SIZE and DEFAULT_SOLVE_BLOCK_SIZE.
 */
export function hostBlockSizes(): { factor: number; solve: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.INFREC_HOST_BLOCK;
  if (env === undefined || env === "") return { factor: DEFAULT_BLOCK_SIZE, solve: DEFAULT_SOLVE_BLOCK_SIZE };
  const parts = env.split(",").map(Number);
  if (parts.length > 2 || parts.some((b) => !Number.isInteger(b) || b < 8)) throw new Error(`INFREC_HOST_BLOCK must be "f" or "f,s" with integers ≥ 8, got '${env}'`);
  return { factor: parts[0], solve: parts[1] ?? parts[0] };
}

export interface SpdSolverOptions {
  /** Block size of the Cholesky factorisation (default 256). */
  blockSize?: number;
  /** Factorisation loop order (default "left"; see cholesky.ts). */
  variant?: CholeskyVariant;
  /** Block size of the triangular solves (default 256; its inverses are free when it divides blockSize). */
  solveBlockSize?: number;
  /** Pivot / diagonal ratio below which K + c·I counts as singular (default 1e-5). */
  minPivotRatio?: number;
  /**
   * Factor the diagonal blocks on a worker thread while ORT forms the panels
   * (left-looking only). Default: only when the backend leaves a core free
   * (threads < logical cores). With ORT on every core the worker slows ORT's
   * parallel GEMMs more than it saves: ML-1M's factor phase (6 λ) took 4.9–5.1
   * s with it against 4.0–4.3 s without on 2 cores, and 5.07 against 4.09 s on
   * the 16-core GPU machine. INFREC_HOST_LOOKAHEAD=0/1 overrides.
   */
  lookAhead?: boolean;
}

export interface SolveOptions {
  /**
   * Iterative-refinement steps (default 0): each costs one residual product and
   * one more solve. The residual's products are float32 GEMMs, so the gain is
   * small (measured 4.6e-6 → 3.1e-6); it does not rescue ill-conditioned systems.
   */
  refine?: number;
  /**
   * When set, estimate the relative residual on `residualColumns` sampled
   * columns after solving and throw SingularKernelError (kind "residual") above it.
   */
  maxResidual?: number;
  /** Columns sampled by the residual check (default 8; cost ≈ 2n²·columns flops). */
  residualColumns?: number;
  /**
   * Solve with the unit form U = L·Λ⁻¹ (cholesky.ts): half the
   * diagonal-block flops for n²·b flops once per factor. Default: when m > n.
   */
  unitForm?: boolean;
}

/** The default residual bound of the solves that check one (the ∞-AE accuracy requirement). */
export const DEFAULT_MAX_RESIDUAL = 1e-4;


/**
 * K's own diagonal, for each K factored in place and not restored yet (the
 * factor's diagonal is L's; K's strict upper triangle is untouched).
 */
const factoredInPlace = new WeakMap<Float32Array, { n: number; diagonal: Float32Array }>();

/** Whether K currently holds a factor written by SpdSolver.factorInPlace. */
export function holdsFactor(k: Float32Array): boolean {
  return factoredInPlace.has(k);
}

/**
 * Gives K back after SpdSolver.factorInPlace: the lower triangle mirrored from
 * the untouched strict upper one, and the saved diagonal written back
 * (bit-exact). A K that holds no factor is left as it is.
 */
export function restoreKernel(k: Float32Array): void {
  const saved = factoredInPlace.get(k);
  if (!saved) return;
  const { n, diagonal } = saved;
  for (let r0 = 0; r0 < n; r0 += TRANSPOSE_ROWS) {
    const r1 = Math.min(n, r0 + TRANSPOSE_ROWS);
    lowerFromUpper(k, n, r0, r1, k, 0);
  }
  for (let i = 0; i < n; i++) k[i * n + i] = diagonal[i];
  factoredInPlace.delete(k);
}

/**
 * Rows handled together when the lower triangle is read from the upper one:
 * the source row j's segment is contiguous and the writes for consecutive j
 * land in the same TRANSPOSE_ROWS cache lines (row by row, each value was a
 * cache miss at n = 6040).
 */
const TRANSPOSE_ROWS = 128;

/** out[(i − outRow0)·n + j] = k[j·n + i] for rows i in [r0, r1) and every column j < i. */
function lowerFromUpper(k: Float32Array, n: number, r0: number, r1: number, out: Float32Array, outRow0: number): void {
  for (let j = 0; j < r1 - 1; j++) {
    const from = Math.max(r0, j + 1);
    const src = j * n;
    for (let i = from; i < r1; i++) out[(i - outRow0) * n + j] = k[src + i];
  }
}

/**
 * Rows [r0, r1) of K into `out` ((r1 − r0) × n), read from K itself or, when K
 * holds an in-place factor, from its strict upper triangle and saved diagonal.
 */
function kernelRows(k: Float32Array, n: number, r0: number, r1: number, out: Float32Array): Float32Array {
  const saved = factoredInPlace.get(k);
  if (!saved) return k.subarray(r0 * n, r1 * n);
  for (let b0 = r0; b0 < r1; b0 += TRANSPOSE_ROWS) lowerFromUpper(k, n, b0, Math.min(r1, b0 + TRANSPOSE_ROWS), out, r0);
  for (let i = r0; i < r1; i++) {
    const row = (i - r0) * n;
    out[row + i] = saved.diagonal[i];
    out.set(k.subarray(i * n + i + 1, (i + 1) * n), row + i + 1);
  }
  return out.subarray(0, (r1 - r0) * n);
}

/**
 * Factors K + c·I and solves with it. Holds the n × n L buffer (not needed
 * by factorInPlace) so that a λ grid on one K allocates it once; a Factor
 * stays valid until this solver factors again.
 */
export class SpdSolver {
  readonly blockSize: number;
  readonly solveBlockSize: number;
  readonly minPivotRatio: number;
  readonly variant: CholeskyVariant;
  private readonly lookAhead: boolean | undefined;
  private readonly kernels: CholeskyKernels;
  private lBuffer?: Float32Array;
  private uBuffer?: Float32Array;
  private generation = 0;

  constructor(
    readonly backend: Backend,
    options: SpdSolverOptions = {},
    kernels?: CholeskyKernels,
  ) {
    this.blockSize = options.blockSize ?? hostBlockSizes().factor;
    checkBlockSize("SpdSolver", this.blockSize);
    this.solveBlockSize = options.solveBlockSize ?? hostBlockSizes().solve;
    checkBlockSize("SpdSolver (solveBlockSize)", this.solveBlockSize);
    this.minPivotRatio = options.minPivotRatio ?? DEFAULT_MIN_PIVOT_RATIO;
    if (!(this.minPivotRatio >= 0 && this.minPivotRatio < 1)) {
      throw new Error(`SpdSolver: minPivotRatio must be in [0, 1), got ${this.minPivotRatio}`);
    }
    this.variant = options.variant ?? "left";
    if (this.variant !== "right" && this.variant !== "left") {
      throw new Error(`SpdSolver: unknown variant "${String(this.variant)}" (use right or left)`);
    }
    this.lookAhead = options.lookAhead;
    this.kernels = kernels ?? new OrtCholeskyKernels(backend);
  }

  /** One-off factorisation with a fresh solver. */
  static async factor(
    k: Float32Array,
    n: number,
    shift: number,
    backend: Backend,
    options: SpdSolverOptions = {},
  ): Promise<SpdFactor> {
    return new SpdSolver(backend, options).factor(k, n, shift);
  }

  /** Factors K + shift·I (K is only read). Throws SingularKernelError when it is not numerically SPD. */
  async factor(k: Float32Array, n: number, shift: number): Promise<SpdFactor> {
    checkFactorArguments("SpdSolver.factor", k, n, shift);
    if (holdsFactor(k)) throw new Error("SpdSolver.factor: K holds an in-place factor; restoreKernel(K) first, or use factorInPlace");
    // A fresh buffer is all zeros; a reused one held a factor of the same n, whose upper triangle is zero.
    if (this.lBuffer === undefined || this.lBuffer.length !== n * n) this.lBuffer = new Float32Array(n * n);
    this.generation++;
    const chol = await blockedCholesky(this.kernels, k, n, shift, await this.choleskyOptions(n, this.variant), this.lBuffer);
    return new SpdFactor(this, this.generation, k, chol);
  }

  /**
   * Factors K + shift·I over K's lower triangle and diagonal (left-looking
   * only reads K's column block j before writing L's there), with no L buffer.
   * K's strict upper triangle and its diagonal (saved) keep K: residual checks
   * read it from there, `restoreKernel` gives it back, and the next
   * factorInPlace of the same K restores it first. On SingularKernelError K is
   * restored before the error is thrown.
   */
  async factorInPlace(k: Float32Array, n: number, shift: number): Promise<SpdFactor> {
    checkFactorArguments("SpdSolver.factorInPlace", k, n, shift);
    restoreKernel(k);
    const diagonal = new Float32Array(n);
    for (let i = 0; i < n; i++) diagonal[i] = k[i * n + i];
    factoredInPlace.set(k, { n, diagonal });
    this.generation++;
    try {
      // The upper triangle holds K, not zeros: no path of the left-looking factor or the solves reads it.
      const chol = await blockedCholesky(this.kernels, k, n, shift, await this.choleskyOptions(n, "left"), k);
      return new SpdFactor(this, this.generation, k, chol);
    } catch (e) {
      restoreKernel(k);
      throw e;
    }
  }

  private async choleskyOptions(n: number, variant: CholeskyVariant) {
    const factorDiagonal = variant === "left" && n > this.blockSize && (await useLookAhead(this.lookAhead, this.backend.threads)) ? await workerBlockFactorer() : undefined;
    return { blockSize: this.blockSize, minPivotRatio: this.minPivotRatio, variant, upperIsZero: true, factorDiagonal, diagonalKernel: blockKernel() ?? undefined };
  }

  /** Drops the buffers (L, U); factors made so far become invalid. */
  release(): void {
    this.lBuffer = undefined;
    this.uBuffer = undefined;
    this.generation++;
    if (this.kernels instanceof OrtCholeskyKernels) this.kernels.releaseScratch();
  }

  /** @internal */
  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  /** @internal n × n buffer for the unit form U = L·Λ⁻¹, reused across factors. */
  unitBufferFor(n: number): Float32Array {
    if (this.uBuffer === undefined || this.uBuffer.length !== n * n) this.uBuffer = new Float32Array(n * n);
    return this.uBuffer;
  }

  /** @internal */
  get choleskyKernels(): CholeskyKernels {
    return this.kernels;
  }
}

function checkFactorArguments(fn: string, k: Float32Array, n: number, shift: number): void {
  if (!(k instanceof Float32Array)) throw new Error(`${fn}: K must be a Float32Array`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: n must be a positive integer, got ${n}`);
  if (k.length !== n * n) throw new Error(`${fn}: K has ${k.length} entries, expected n×n = ${n}×${n} = ${n * n}`);
  if (!Number.isFinite(shift) || shift < 0) throw new Error(`${fn}: shift must be finite and ≥ 0, got ${shift}`);
}

/** SpdSolverOptions.lookAhead's default (see there). */
async function useLookAhead(option: boolean | undefined, ortThreads: number): Promise<boolean> {
  if (option !== undefined) return option;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.INFREC_HOST_LOOKAHEAD;
  if (env === "0" || env === "1") return env === "1";
  if (env !== undefined && env !== "") throw new Error(`INFREC_HOST_LOOKAHEAD must be 0 or 1, got '${env}'`);
  return ortThreads < (await logicalCores());
}

/** Diagonal blocks factored on the process's block-factor worker (block-factor.ts). */
async function workerBlockFactorer(): Promise<DiagonalBlockFactorer> {
  const pool = await sharedBlockFactorPool();
  return async (job) => {
    const r = await pool.factorOne({ ...job, withFactor: true });
    if (!r.inverse || !r.factor) throw new SingularKernelError(r.failure!);
    return { factor: r.factor, inverse: r.inverse, minRatio: r.minRatio ?? Infinity };
  };
}

/** A factorisation L·Lᵀ = K + shift·I, valid until its solver factors again. */
export class SpdFactor {
  private readonly inverses = new Map<number, Float32Array[]>();
  private unit?: { u: Float32Array; w: Float32Array[] };

  /** @internal use SpdSolver.factor */
  constructor(
    private readonly solver: SpdSolver,
    private readonly generation: number,
    /** The K that was factored (kept for residuals and refinement; never written). */
    readonly k: Float32Array,
    private readonly chol: BlockedCholesky,
  ) {
    this.inverses.set(chol.blockSize, chol.diagInverses);
  }

  get n(): number {
    return this.chol.n;
  }

  get shift(): number {
    return this.chol.shift;
  }

  /** Smallest pivot / diagonal ratio met; 1 / this bounds cond(K + shift·I) from below. */
  get minPivotRatio(): number {
    return this.chol.minPivotRatioSeen;
  }

  /** The lower factor (row-major n × n); owned by the solver. */
  get l(): Float32Array {
    this.checkCurrent();
    return this.chol.l;
  }

  private checkCurrent(): void {
    if (!this.solver.isCurrent(this.generation)) {
      throw new Error("SpdFactor: this factor's buffer was reused by a later SpdSolver.factor call; factor again");
    }
  }

  /**
   * α = (K + shift·I)⁻¹ X for row-major X (n × m); writes into `out` when
   * given. `out` may be X itself (solved in place, no second n × m buffer; the
   * residual check then keeps its sampled columns of X first; no refinement),
   * not a part of it.
   */
  async solve(x: Float32Array, m: number, out?: Float32Array, options: SolveOptions = {}): Promise<Float32Array> {
    this.checkCurrent();
    const n = this.n;
    if (!(x instanceof Float32Array)) throw new Error("SpdFactor.solve: X must be a Float32Array");
    checkSolveShapes("SpdFactor.solve", this.k, n, x, m);
    const alpha = out ?? new Float32Array(n * m);
    if (alpha.length !== n * m) throw new Error(`SpdFactor.solve: out has ${alpha.length} entries, expected n×m = ${n * m}`);
    const inPlace = alpha === x;
    if (!inPlace && sameMemory(alpha, x)) throw new Error("SpdFactor.solve: out must be X itself or not share memory with it");
    const refine = options.refine ?? 0;
    if (!Number.isInteger(refine) || refine < 0) throw new Error(`SpdFactor.solve: refine must be an integer ≥ 0, got ${refine}`);
    if (inPlace && refine > 0) throw new Error("SpdFactor.solve: refinement needs X after the solve; it cannot solve in place");
    // In place, X's sampled columns are kept before they are overwritten.
    const kept = inPlace && options.maxResidual !== undefined ? this.sampledColumns(x, m, options.residualColumns ?? 8) : null;

    const b = this.solver.solveBlockSize;
    let dInv = this.inverses.get(b);
    if (dInv === undefined) {
      dInv = diagonalInverses(this.chol, b);
      this.inverses.set(b, dInv);
    }
    const kernels = this.solver.choleskyKernels;
    let solveInto: (rhs: Float32Array, into: Float32Array) => Promise<Float32Array>;
    if (options.unitForm ?? m > n) {
      if (this.unit === undefined) {
        const u = this.solver.unitBufferFor(n);
        this.unit = { u, w: await unitForm(kernels, this.chol.l, n, dInv, b, u) };
      }
      const { u, w } = this.unit;
      solveInto = (rhs, into) => blockedUnitSolve(kernels, u, n, w, b, rhs, m, into);
    } else {
      const d = dInv;
      solveInto = (rhs, into) => blockedCholeskySolve(kernels, this.chol.l, n, d, b, rhs, m, into);
    }
    await solveInto(x, alpha);
    if (refine > 0) {
      const r = new Float32Array(n * m);
      const delta = new Float32Array(n * m);
      for (let step = 0; step < refine; step++) {
        await regularizedResidual(this.solver.backend, this.k, n, this.shift, alpha, x, m, r);
        await solveInto(r, delta);
        for (let i = 0; i < alpha.length; i++) alpha[i] += delta[i];
      }
    }
    if (options.maxResidual !== undefined) {
      const residual = kept
        ? await this.residualOnColumns(kept, alpha, m)
        : await this.estimateResidual(x, alpha, m, options.residualColumns);
      if (!(residual <= options.maxResidual)) {
        throw new SingularKernelError({ kind: "residual", residual, maxResidual: options.maxResidual });
      }
    }
    return alpha;
  }

  /**
   * ‖(K + shift·I)·α − X‖_F / ‖X‖_F restricted to `columns` evenly spaced
   * non-zero columns of X: a cheap check (2n²·columns flops, ORT MatMul) where
   * `relativeResidual` costs as much as the solve.
   */
  async estimateResidual(x: Float32Array, alpha: Float32Array, m: number, columns = 8): Promise<number> {
    const n = this.n;
    checkSolveShapes("SpdFactor.estimateResidual", this.k, n, x, m);
    if (alpha.length !== n * m) throw new Error(`SpdFactor.estimateResidual: α has ${alpha.length} entries, expected ${n * m}`);
    if (!Number.isInteger(columns) || columns < 1) throw new Error(`SpdFactor.estimateResidual: columns must be a positive integer, got ${columns}`);
    const kept = this.sampledColumns(x, m, columns);
    if (kept.picked.length === 0) return relativeResidual(this.k, n, this.shift, alpha, x, m, this.solver.backend);
    return this.residualOnColumns(kept, alpha, m);
  }

  /** `columns` evenly spaced non-zero columns of X (n × m) and their values (n × s); none when X is zero. */
  private sampledColumns(x: Float32Array, m: number, columns: number): { picked: number[]; values: Float32Array } {
    const n = this.n;
    if (!Number.isInteger(columns) || columns < 1) throw new Error(`SpdFactor.estimateResidual: columns must be a positive integer, got ${columns}`);
    const nonZero = nonZeroColumns(x, n, m);
    const s = Math.min(columns, nonZero.length);
    const picked = Array.from({ length: s }, (_, t) => nonZero[Math.floor(((t + 0.5) * nonZero.length) / s)]);
    return { picked, values: gatherColumns(x, n, m, picked) };
  }

  /** The relative residual on the kept columns of X; X = 0 (nothing kept) has residual 0 exactly when α = 0. */
  private async residualOnColumns(kept: { picked: number[]; values: Float32Array }, alpha: Float32Array, m: number): Promise<number> {
    if (kept.picked.length === 0) return alpha.every((v) => v === 0) ? 0 : Infinity;
    const as = gatherColumns(alpha, this.n, m, kept.picked);
    return relativeResidual(this.k, this.n, this.shift, as, kept.values, kept.picked.length, this.solver.backend);
  }
}

/** The columns of X (n × m) with a non-zero entry. */
function nonZeroColumns(x: Float32Array, n: number, m: number): number[] {
  const seen = new Uint8Array(m);
  for (let r = 0; r < n; r++) {
    const row = r * m;
    for (let c = 0; c < m; c++) if (x[row + c] !== 0) seen[c] = 1;
  }
  const columns: number[] = [];
  for (let c = 0; c < m; c++) if (seen[c]) columns.push(c);
  return columns;
}

/** Columns `picked` of A (n × m) as an n × picked.length matrix. */
function gatherColumns(a: Float32Array, n: number, m: number, picked: readonly number[]): Float32Array {
  const s = picked.length;
  const out = new Float32Array(n * s);
  for (let i = 0; i < n; i++) for (let t = 0; t < s; t++) out[i * s + t] = a[i * m + picked[t]];
  return out;
}

function sameMemory(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  const a0 = a.byteOffset;
  const a1 = a0 + a.byteLength;
  const b0 = b.byteOffset;
  const b1 = b0 + b.byteLength;
  return a0 < b1 && b0 < a1;
}

/** Row block of K·α products in the residual helpers (bounds the temporary). */
const RESIDUAL_ROWS = 512;

/**
 * Calls `visit(r0, r1, kAlpha)` with kAlpha = K[r0:r1, :]·α for consecutive row
 * blocks; the product is ORT MatMul (float32), the caller works in float64.
 */
async function forRowProducts(
  backend: Backend,
  k: Float32Array,
  n: number,
  alpha: Float32Array,
  m: number,
  visit: (r0: number, r1: number, kAlpha: Float32Array) => void,
): Promise<void> {
  const rows = Math.min(RESIDUAL_ROWS, n);
  const buf = new Float32Array(rows * m);
  // K's rows are assembled from its upper triangle while it holds an in-place factor.
  const kRows = holdsFactor(k) ? new Float32Array(rows * n) : new Float32Array(0);
  for (let r0 = 0; r0 < n; r0 += rows) {
    const r1 = Math.min(n, r0 + rows);
    const out = buf.subarray(0, (r1 - r0) * m);
    await backend.matmul(kernelRows(k, n, r0, r1, kRows), [r1 - r0, n], alpha, [n, m], { out });
    visit(r0, r1, out);
  }
}

/** r = X − (K + shift·I)·α, products in float32 GEMM, the rest in float64. */
async function regularizedResidual(
  backend: Backend,
  k: Float32Array,
  n: number,
  shift: number,
  alpha: Float32Array,
  x: Float32Array,
  m: number,
  r: Float32Array,
): Promise<void> {
  await forRowProducts(backend, k, n, alpha, m, (r0, r1, ka) => {
    const base = r0 * m;
    for (let i = 0; i < (r1 - r0) * m; i++) r[base + i] = x[base + i] - (ka[i] + shift * alpha[base + i]);
  });
}

/**
 * ‖(K + shift·I)·α − X‖_F / ‖X‖_F. K·α is ORT MatMul in float32 (row blocks);
 * the shift, the difference and the sums are float64, so the result resolves
 * residuals down to about float32 GEMM rounding (≈ 1e-7 · ‖K‖‖α‖ / ‖X‖).
 */
export async function relativeResidual(
  k: Float32Array,
  n: number,
  shift: number,
  alpha: Float32Array,
  x: Float32Array,
  m: number,
  backend: Backend,
): Promise<number> {
  checkSolveShapes("relativeResidual", k, n, x, m);
  if (alpha.length !== n * m) throw new Error(`relativeResidual: α has ${alpha.length} entries, expected n×m = ${n * m}`);
  let num = 0;
  let den = 0;
  await forRowProducts(backend, k, n, alpha, m, (r0, r1, ka) => {
    const base = r0 * m;
    for (let i = 0; i < (r1 - r0) * m; i++) {
      const xi = x[base + i];
      const d = ka[i] + shift * alpha[base + i] - xi;
      num += d * d;
      den += xi * xi;
    }
  });
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}

