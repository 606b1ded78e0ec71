/**
 * Cholesky, written once. The float64 factorisation and triangular solves
 * (`choleskyFactor`, `choleskySolve`) serve every small solve in infrec and
 * the diagonal blocks of the large one: the blocked Cholesky factorisation and
 * blocked triangular solves for (K + c·I)·α = X, written against a small set of GEMM-shaped kernels
 * (`CholeskyKernels`) so that all O(n³) and O(n²·m) work can run as ONNX
 * Runtime MatMul/Gemm (ort-kernels.ts) while only O(b³) work per block stays
 * in TypeScript. `tsCholeskyKernels` is a plain TypeScript implementation of the
 * same kernels (float64 accumulation) for tests and tiny problems.
 *
 * Layout: every matrix is row-major float32. L is a separate n × n buffer
 * (zeros above the diagonal), so K is never written and one K serves every λ.
 *
 * Factor, block columns j = [j0, j1), two variants with n³/3 GEMM flops each
 * (only the lower triangle is updated, no wasted half):
 * - "left" (default): row-major L, one long-K GEMM per block column:
 *     P = K[j0:n, j0:j1] − L[j0:n, 0:j0]·L[j0:j1, 0:j0]ᵀ    (kernel: panel)
 *     L_jj = chol(P_top + c·I), D_j = L_jj⁻¹                 (TS, float64, O(b³))
 *     L[j1:n, j] = P_below · D_jᵀ                            (kernel: mulTransposed)
 *   The strided L[j0:n, 0:j0] is copied to a contiguous buffer each step
 *   (n³/(6b) floats in all); the ORT kernel does it with row `set`s, which
 *   beat ORT's Slice inside the graph.
 * - "right": the lower triangle is packed by block columns,
 *   W_q = K[q0:n, q0:q1] contiguous, so every operand is a contiguous view:
 *     L_jj = chol(W_j,top + c·I), D_j = L_jj⁻¹               (TS, float64, O(b³))
 *     P = L[j1:n, j] = W_j,below · D_jᵀ                      (kernel: mulTransposed)
 *     W_q −= P[q0−j1:, :]·P[q0−j1:q1−j1, :]ᵀ for q > j       (kernel: updateInPlace)
 *   then W is unpacked into row-major L for the solves. No copies, but
 *   ≈ (n/b)²/2 calls whose inner dimension is only b.
 * On the shared 2-core machine both took the same time within noise
 * (bench/solve.ts); "left" is the default for its fewer, larger calls.
 *
 * Solves (block rows i = [i0, i1)), with the diagonal inverses D_i so that the
 * substitutions are GEMMs only:
 *   forward  Y_i = D_i · (X_i − L[i0:i1, 0:i0]·Y[0:i0])             (forwardStep)
 *   backward α_i = D_iᵀ · (Y_i − L[i1:n, i0:i1]ᵀ·α[i1:n])           (backwardStep)
 * The D products cost 2·(2·n·b·m) flops, ≈ 19% extra when m ≫ n (Douban). The
 * unit form halves that: with Λ = blockdiag(L_ii) and U = L·Λ⁻¹ (identity
 * diagonal blocks), L·Lᵀ = U·(Λ·Λᵀ)·Uᵀ and (Λ·Λᵀ)⁻¹ = blockdiag(D_iᵀ·D_i), so
 *   forward  Z_i = X_i − U[i0:i1, 0:i0]·Z[0:i0]                   (forwardUnitStep)
 *   backward α_i = W_i·Z_i − U[i1:n, i0:i1]ᵀ·α[i1:n], W_i = D_iᵀD_i (backwardUnitStep)
 * at the price of forming U once (n²·b flops): worth it when m > n.
 */

/** The GEMM-shaped operations the blocked algorithm needs. Output buffers are exact-size views. */
export interface CholeskyKernels {
  /**
   * out ((r1−r0) × (j1−j0)) = K[r0:r1, j0:j1] − L[r0:r1, 0:j0]·L[j0:j1, 0:j0]ᵀ, for
   * 0 < j0 < j1 ≤ n and j0 ≤ r0 < r1 ≤ n; rows [r0, r1) default to [j0, n).
   */
  panel(k: Float32Array, l: Float32Array, n: number, j0: number, j1: number, out: Float32Array, rows?: readonly [number, number]): Promise<void>;
  /** c (r × bq) −= a (r × bk) · bᵀ (b is bq × bk), written in place over c. */
  updateInPlace(c: Float32Array, r: number, bq: number, a: Float32Array, b: Float32Array, bk: number): Promise<void>;
  /** out (r × b) = a (r × b) · tᵀ (t is b × b). */
  mulTransposed(a: Float32Array, r: number, b: number, t: Float32Array, out: Float32Array): Promise<void>;
  /**
   * out ((i1−i0) × m) = d · (x_i − L[i0:i1, 0:i0]·y[0:i0, :]); x_i = X[i0:i1, :] (a view),
   * y holds at least i0 finished rows, d is (i1−i0)²; for i0 = 0 the product term is absent.
   */
  forwardStep(
    l: Float32Array, n: number, i0: number, i1: number,
    xi: Float32Array, y: Float32Array, m: number, d: Float32Array, out: Float32Array,
  ): Promise<void>;
  /**
   * out ((i1−i0) × m) = dᵀ · (y_i − L[i1:n, i0:i1]ᵀ·α[i1:n, :]); alphaTail = α[i1:n, :] (a view);
   * for i1 = n the product term is absent.
   */
  backwardStep(
    l: Float32Array, n: number, i0: number, i1: number,
    yi: Float32Array, alphaTail: Float32Array, m: number, d: Float32Array, out: Float32Array,
  ): Promise<void>;
  /** Unit form: out = x_i − U[i0:i1, 0:i0]·z[0:i0, :] (U = L·D̂⁻¹); for i0 = 0, out = x_i. */
  forwardUnitStep(
    u: Float32Array, n: number, i0: number, i1: number,
    xi: Float32Array, z: Float32Array, m: number, out: Float32Array,
  ): Promise<void>;
  /** Unit form: out = w·z_i − U[i1:n, i0:i1]ᵀ·α[i1:n, :] (w = D_iᵀ·D_i); for i1 = n, out = w·z_i. */
  backwardUnitStep(
    u: Float32Array, n: number, i0: number, i1: number,
    zi: Float32Array, alphaTail: Float32Array, m: number, w: Float32Array, out: Float32Array,
  ): Promise<void>;
}

export type CholeskyVariant = "right" | "left";

/** A diagonal block's factor L, its inverse D = L⁻¹ and the smallest pivot ratio seen. */
export interface DiagonalBlockFactor {
  factor: Float32Array;
  inverse: Float32Array;
  minRatio: number;
}

/** A synchronous diagonal-block factor: BlockKernel's shape (block-kernel.ts). */
export interface DiagonalBlockKernel {
  factorInverse(block: Float32Array, b: number, shift: number, diagonal: ArrayLike<number>, minPivotRatio: number, offset: number, withFactor: boolean): DiagonalBlockFactor;
}

/**
 * Factors a b × b diagonal block (lower triangle read, the shift not yet added)
 * in float64, somewhere else (a worker); rejects with SingularKernelError when
 * a pivot fails the test against `diagonal` (the matrix's own, plus the shift).
 */
export type DiagonalBlockFactorer = (job: DiagonalBlockJob) => Promise<DiagonalBlockFactor>;

/** One diagonal block to factor (DiagonalBlockFactorer, the block-factor workers). */
export interface DiagonalBlockJob {
  /** The block, b × b row-major (only the lower triangle is read), without the shift. */
  block: Float32Array;
  b: number;
  /** The block's first row in the whole matrix (error messages). */
  j0: number;
  shift: number;
  /** The whole matrix's diagonal entries of these rows plus the shift: the pivot test's reference. */
  diagonal: Float64Array;
  minPivotRatio: number;
}

export interface BlockedCholeskyOptions {
  /** Block size of the factorisation (default 256). */
  blockSize?: number;
  /** Loop order (default "left"; see the file comment). */
  variant?: CholeskyVariant;
  /** A pivot ≤ minPivotRatio × its diagonal entry throws SingularKernelError (default 1e-5). */
  minPivotRatio?: number;
  /**
   * The output buffer's strict upper triangle is already zero (it held an earlier
   * factor of the same n: neither variant writes above the diagonal), so it is not
   * cleared again (ML-1M: 146 MB per λ).
   */
  upperIsZero?: boolean;
  /**
   * Left-looking only: factor the diagonal blocks here (a worker) while the
   * panels are formed (look-ahead); without it they are factored in this thread.
   */
  factorDiagonal?: DiagonalBlockFactorer;
  /** Factors the diagonal blocks in this thread when given (block-kernel.ts: WebAssembly, the same numbers). */
  diagonalKernel?: DiagonalBlockKernel;
}

/** Lower factor of K + shift·I with its diagonal-block inverses. */
export interface BlockedCholesky {
  readonly n: number;
  readonly shift: number;
  readonly blockSize: number;
  /** Row-major n × n, zeros above the diagonal. */
  readonly l: Float32Array;
  /** D_j = L_jj⁻¹ for each block j (b_j × b_j, row-major, lower triangular). */
  readonly diagInverses: Float32Array[];
  /** Smallest pivot / diagonal ratio seen (a lower bound on 1 / cond(K + shift·I)). */
  readonly minPivotRatioSeen: number;
}

export function checkBlockSize(fn: string, b: number): void {
  if (!Number.isInteger(b) || b < 1) throw new Error(`${fn}: block size must be a positive integer, got ${b}`);
}

/** Default for `minPivotRatio` in the solvers: a pivot below this share of its diagonal entry means K_reg is (numerically) singular. */
export const DEFAULT_MIN_PIVOT_RATIO = 1e-5;

/** Where a solve broke down: at a Cholesky pivot, or in the residual check after solving. */
export type SingularKernelDetail =
  | {
      kind: "pivot";
      /** Row/column where the factorisation broke down. */
      index: number;
      /** The pivot (squared diagonal of L) found there. */
      pivot: number;
      /** The diagonal entry K_reg[index, index] it is compared with. */
      diagonal: number;
      /** The threshold pivot / diagonal had to exceed. */
      minPivotRatio: number;
    }
  | {
      kind: "residual";
      /** Relative residual ‖K_reg·α − X‖_F / ‖X‖_F (estimated on sampled columns). */
      residual: number;
      /** The bound it had to meet. */
      maxResidual: number;
    };

/**
 * K + c·I is not (numerically) positive definite: a Cholesky pivot was ≤ 0,
 * not finite, or tiny relative to its diagonal entry (the pivot ratio bounds
 * the condition number from below: cond(K_reg) ≥ 1 / ratio), or the solution's
 * residual failed the check. Typical cause: λ = 0 on a kernel with duplicate
 * users (Magazine).
 */
export class SingularKernelError extends Error {
  override readonly name = "SingularKernelError";
  constructor(readonly detail: SingularKernelDetail) {
    super(
      detail.kind === "pivot"
        ? `K + c·I is not numerically positive definite at row ${detail.index}: ` +
            `pivot ${detail.pivot.toExponential(3)} vs diagonal ${detail.diagonal.toExponential(3)} ` +
            `(ratio ${(detail.pivot / detail.diagonal).toExponential(3)} ≤ ${detail.minPivotRatio}); ` +
            `use a larger λ (shift) or remove duplicate users`
        : `K + c·I is too ill-conditioned for a float32 solve: relative residual ` +
            `${detail.residual.toExponential(3)} > ${detail.maxResidual}; use a larger λ (shift)`,
    );
  }
}

/** Throws SingularKernelError unless `pivot` is a usable Cholesky pivot for diagonal entry `diagonal`. */
export function checkPivot(index: number, pivot: number, diagonal: number, minPivotRatio: number): void {
  // Written so that NaN fails too.
  if (!(pivot > 0 && diagonal > 0 && pivot > minPivotRatio * diagonal)) {
    throw new SingularKernelError({ kind: "pivot", index, pivot, diagonal, minPivotRatio });
  }
}

/** Throws naming the problem unless K is n × n and X is n × m with n, m ≥ 1. */
export function checkSolveShapes(fn: string, k: ArrayLike<number>, n: number, x: ArrayLike<number>, m: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(m) || m < 1) throw new Error(`${fn}: m must be a positive integer, got ${m}`);
  if (k.length !== n * n) throw new Error(`${fn}: K has ${k.length} entries, expected n×n = ${n}×${n} = ${n * n}`);
  if (x.length !== n * m) throw new Error(`${fn}: X has ${x.length} entries, expected n×m = ${n}×${m} = ${n * m}`);
}

export interface CholeskyFactorOptions {
  /** Added to the diagonal: the factor is of A + shift·I (default 0). */
  shift?: number;
  /** A pivot ≤ minPivotRatio × its diagonal entry throws SingularKernelError (default 0: only pivots ≤ 0). */
  minPivotRatio?: number;
  /** The diagonal entries pivots are compared with (default A's own, plus shift). */
  diagonal?: ArrayLike<number>;
  /** Row of A[0, 0] in a larger matrix, for error messages (default 0). */
  offset?: number;
}

/**
 * The float64 Cholesky factorisation, the only one in infrec: writes the lower
 * factor of A + shift·I (n × n, row-major; only A's lower triangle is read)
 * into `l` (zeros above the diagonal; `l` may be `a` itself when `a` is a
 * Float64Array) and returns the smallest pivot / diagonal ratio. The blocked
 * solver runs it on its diagonal blocks; the small float64 solves (DISTILL-CF's
 * inner solve, ∞-AE on summaries, fold-in) and the test reference call it whole.
 */
export function choleskyFactorInto(a: ArrayLike<number>, n: number, l: Float64Array, options: CholeskyFactorOptions = {}): number {
  if (a.length !== n * n) throw new Error(`choleskyFactor: A has ${a.length} entries, expected ${n}×${n}`);
  if (l.length !== n * n) throw new Error(`choleskyFactor: L has ${l.length} entries, expected ${n}×${n}`);
  const shift = options.shift ?? 0;
  const minPivotRatio = options.minPivotRatio ?? 0;
  const offset = options.offset ?? 0;
  let minRatio = Infinity;
  // Row-by-row (Cholesky–Banachiewicz): every inner loop is a dot product of two contiguous rows.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      l[ri + j] = (a[ri + j] - dot(l, ri, l, rj, j)) / l[rj + j];
    }
    const diag = options.diagonal ? options.diagonal[i] : a[ri + i] + shift;
    const d = a[ri + i] + shift - dot(l, ri, l, ri, i);
    checkPivot(offset + i, d, diag, minPivotRatio);
    minRatio = Math.min(minRatio, d / diag);
    l[ri + i] = Math.sqrt(d);
    for (let j = i + 1; j < n; j++) l[ri + j] = 0;
  }
  return minRatio;
}

/** The lower Cholesky factor of A + shift·I as a new float64 array (see choleskyFactorInto). */
export function choleskyFactor(a: ArrayLike<number>, n: number, options: CholeskyFactorOptions = {}): Float64Array {
  const l = new Float64Array(n * n);
  choleskyFactorInto(a, n, l, options);
  return l;
}

/** Solves L·Lᵀ·Y = X for row-major X (n × m) given the lower factor L; float64, all columns at once. */
export function choleskySolve(l: Float64Array, n: number, x: ArrayLike<number>, m: number): Float64Array {
  if (l.length !== n * n) throw new Error(`choleskySolve: L has ${l.length} entries, expected ${n}×${n}`);
  if (x.length !== n * m) throw new Error(`choleskySolve: X has ${x.length} entries, expected ${n}×${m}`);
  const y = Float64Array.from(x);
  // Forward: L·z = x, row by row (rows of y are contiguous).
  for (let i = 0; i < n; i++) {
    const yi = i * m;
    for (let p = 0; p < i; p++) {
      const lip = l[i * n + p];
      if (lip === 0) continue;
      const yp = p * m;
      for (let c = 0; c < m; c++) y[yi + c] -= lip * y[yp + c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < m; c++) y[yi + c] *= inv;
  }
  // Backward: Lᵀ·y = z.
  for (let i = n - 1; i >= 0; i--) {
    const yi = i * m;
    for (let p = i + 1; p < n; p++) {
      const lpi = l[p * n + i];
      if (lpi === 0) continue;
      const yp = p * m;
      for (let c = 0; c < m; c++) y[yi + c] -= lpi * y[yp + c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < m; c++) y[yi + c] *= inv;
  }
  return y;
}

/** (A + shift·I)⁻¹ of a symmetric positive definite n × n matrix, float64 (factor, then solve against I). */
export function spdInverse(a: ArrayLike<number>, n: number, options: CholeskyFactorOptions = {}): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return choleskySolve(choleskyFactor(a, n, options), n, eye, n);
}

/** Inverse of a lower-triangular b × b float64 matrix, row by row (contiguous axpys). */
export function invertLowerTriangular(l: Float64Array, b: number): Float64Array {
  // Column c of L⁻¹ by forward substitution, kept as row c of its transpose so
  // that every step is a dot product of two contiguous rows (no strided reads).
  const t = new Float64Array(b * b);
  for (let c = 0; c < b; c++) {
    const rc = c * b;
    t[rc + c] = 1 / l[c * b + c];
    for (let i = c + 1; i < b; i++) t[rc + i] = -dot(l, i * b + c, t, rc + c, i - c) / l[i * b + i];
  }
  const inv = new Float64Array(b * b);
  for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) inv[i * b + c] = t[c * b + i];
  return inv;
}

/**
 * Σ_{p<len} x[xo+p]·y[yo+p] with four partial sums: one running sum is bound by
 * the add's latency, four keep the multiplier busy (≈ 3× on a 256 block).
 */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let p = 0;
  for (; p + 3 < len; p += 4) {
    s0 += x[xo + p] * y[yo + p];
    s1 += x[xo + p + 1] * y[yo + p + 1];
    s2 += x[xo + p + 2] * y[yo + p + 2];
    s3 += x[xo + p + 3] * y[yo + p + 3];
  }
  for (; p < len; p++) s0 += x[xo + p] * y[yo + p];
  return (s0 + s1) + (s2 + s3);
}

/**
 * Factors one diagonal block: `top` holds the updated block (row stride
 * `stride`, lower part read); writes L_jj into L and returns D_j = L_jj⁻¹ and
 * the smallest pivot ratio.
 */
function factorDiagonalBlock(
  top: Float32Array, stride: number, k: Float32Array, l: Float32Array, n: number,
  j0: number, bj: number, shift: number, minPivotRatio: number, kernel?: DiagonalBlockKernel,
): { inverse: Float32Array; minRatio: number } {
  const diag = new Float64Array(bj);
  for (let i = 0; i < bj; i++) diag[i] = k[(j0 + i) * n + j0 + i] + shift;
  if (kernel && stride === bj) {
    const r = kernel.factorInverse(top.subarray(0, bj * bj), bj, shift, diag, minPivotRatio, j0, true);
    for (let i = 0; i < bj; i++) l.set(r.factor.subarray(i * bj, i * bj + i + 1), (j0 + i) * n + j0);
    return { inverse: r.inverse, minRatio: r.minRatio };
  }
  const a = new Float64Array(bj * bj);
  for (let i = 0; i < bj; i++) {
    for (let c = 0; c <= i; c++) a[i * bj + c] = top[i * stride + c];
    a[i * bj + i] += shift;
  }
  const minRatio = choleskyFactorInto(a, bj, a, { diagonal: diag, offset: j0, minPivotRatio });
  const inverse = Float32Array.from(invertLowerTriangular(a, bj));
  for (let i = 0; i < bj; i++) {
    const dst = (j0 + i) * n + j0;
    for (let c = 0; c <= i; c++) l[dst + c] = a[i * bj + c];
  }
  return { inverse, minRatio };
}

/**
 * Blocked Cholesky of K + shift·I. K is read only; L is written into `lOut`
 * (n × n, allocated when absent) so a caller can reuse it across λ.
 */
export async function blockedCholesky(
  kernels: CholeskyKernels,
  k: Float32Array,
  n: number,
  shift: number,
  options: BlockedCholeskyOptions = {},
  lOut?: Float32Array,
): Promise<BlockedCholesky> {
  const b = options.blockSize ?? 256;
  checkBlockSize("blockedCholesky", b);
  const minPivotRatio = options.minPivotRatio ?? DEFAULT_MIN_PIVOT_RATIO;
  const variant = options.variant ?? "left";
  if (variant !== "right" && variant !== "left") throw new Error(`blockedCholesky: unknown variant "${String(variant)}" (use right or left)`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`blockedCholesky: n must be a positive integer, got ${n}`);
  if (k.length !== n * n) throw new Error(`blockedCholesky: K has ${k.length} entries, expected n×n = ${n * n}`);
  if (!Number.isFinite(shift) || shift < 0) throw new Error(`blockedCholesky: shift must be finite and ≥ 0, got ${shift}`);
  const l = lOut ?? new Float32Array(n * n);
  if (l.length !== n * n) throw new Error(`blockedCholesky: L buffer has ${l.length} entries, expected ${n * n}`);
  if (!options.upperIsZero || lOut === undefined) l.fill(0); // the upper triangle must read as zero
  const { diagInverses, minRatio } = variant === "right"
    ? await rightLooking(kernels, k, n, shift, b, minPivotRatio, l, options.diagonalKernel)
    : options.factorDiagonal
    ? await leftLookingAhead(kernels, k, n, shift, b, minPivotRatio, l, options.factorDiagonal)
    : await leftLooking(kernels, k, n, shift, b, minPivotRatio, l, options.diagonalKernel);
  return { n, shift, blockSize: b, l, diagInverses, minPivotRatioSeen: minRatio };
}

type VariantResult = { diagInverses: Float32Array[]; minRatio: number };

async function leftLooking(
  kernels: CholeskyKernels, k: Float32Array, n: number, shift: number, b: number, minPivotRatio: number, l: Float32Array,
  kernel?: DiagonalBlockKernel,
): Promise<VariantResult> {
  const bMax = Math.min(b, n);
  const panel = new Float32Array(n * bMax);
  const below = new Float32Array(Math.max(0, n - bMax) * bMax);
  const diagInverses: Float32Array[] = [];
  let minRatio = Infinity;
  for (let j0 = 0; j0 < n; j0 += b) {
    const j1 = Math.min(n, j0 + b);
    const bj = j1 - j0;
    const rows = n - j0;
    const p = panel.subarray(0, rows * bj);
    if (j0 === 0) {
      for (let r = 0; r < rows; r++) p.set(k.subarray(r * n, r * n + bj), r * bj);
    } else {
      await kernels.panel(k, l, n, j0, j1, p);
    }
    const d = factorDiagonalBlock(p, bj, k, l, n, j0, bj, shift, minPivotRatio, kernel);
    minRatio = Math.min(minRatio, d.minRatio);
    diagInverses.push(d.inverse);
    const rest = n - j1;
    if (rest > 0) {
      const q = below.subarray(0, rest * bj);
      await kernels.mulTransposed(p.subarray(bj * bj), rest, bj, d.inverse, q);
      for (let r = 0; r < rest; r++) l.set(q.subarray(r * bj, (r + 1) * bj), (j1 + r) * n + j0);
    }
  }
  return { diagInverses, minRatio };
}

/**
 * Left-looking with look-ahead: block j's diagonal block is factored by
 * `factorDiagonal` (a worker) while this thread forms the panel below it, and
 * the next diagonal block is formed first thing after column j is done. The
 * same arithmetic as leftLooking, in another order (the panel's GEMM is split
 * at the diagonal block's last row).
 */
async function leftLookingAhead(
  kernels: CholeskyKernels, k: Float32Array, n: number, shift: number, b: number, minPivotRatio: number, l: Float32Array,
  factorDiagonal: DiagonalBlockFactorer,
): Promise<VariantResult> {
  const bMax = Math.min(b, n);
  const below = new Float32Array(Math.max(0, n - bMax) * bMax);
  const q = new Float32Array(below.length);
  const diagInverses: Float32Array[] = [];
  let minRatio = Infinity;
  const start = (t: Float32Array, j0: number, bj: number): Promise<DiagonalBlockFactor> => {
    const diagonal = new Float64Array(bj);
    for (let i = 0; i < bj; i++) diagonal[i] = k[(j0 + i) * n + j0 + i] + shift;
    const p = factorDiagonal({ block: t, b: bj, j0, shift, diagonal, minPivotRatio });
    p.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    return p;
  };
  const first = new Float32Array(bMax * bMax);
  for (let r = 0; r < bMax; r++) first.set(k.subarray(r * n, r * n + bMax), r * bMax);
  let pending = start(first, 0, bMax);
  for (let j0 = 0; j0 < n; j0 += b) {
    const j1 = Math.min(n, j0 + b);
    const bj = j1 - j0;
    const rest = n - j1;
    const p = below.subarray(0, rest * bj);
    if (rest > 0) {
      if (j0 === 0) for (let r = 0; r < rest; r++) p.set(k.subarray((j1 + r) * n, (j1 + r) * n + bj), r * bj);
      else await kernels.panel(k, l, n, j0, j1, p, [j1, n]);
    }
    const d = await pending;
    minRatio = Math.min(minRatio, d.minRatio);
    diagInverses.push(d.inverse);
    for (let i = 0; i < bj; i++) l.set(d.factor.subarray(i * bj, i * bj + i + 1), (j0 + i) * n + j0);
    if (rest === 0) break;
    const qv = q.subarray(0, rest * bj);
    await kernels.mulTransposed(p, rest, bj, d.inverse, qv);
    for (let r = 0; r < rest; r++) l.set(qv.subarray(r * bj, (r + 1) * bj), (j1 + r) * n + j0);
    const j2 = Math.min(n, j1 + b);
    const t = new Float32Array((j2 - j1) * (j2 - j1));
    await kernels.panel(k, l, n, j1, j2, t, [j1, j2]);
    pending = start(t, j1, j2 - j1);
  }
  return { diagInverses, minRatio };
}

async function rightLooking(
  kernels: CholeskyKernels, k: Float32Array, n: number, shift: number, b: number, minPivotRatio: number, l: Float32Array,
  kernel?: DiagonalBlockKernel,
): Promise<VariantResult> {
  // Pack the lower triangle by block columns: W_q = K[q0:n, q0:q1], (n − q0) × b_q.
  const starts: number[] = [];
  const offsets: number[] = [];
  let size = 0;
  for (let q0 = 0; q0 < n; q0 += b) {
    starts.push(q0);
    offsets.push(size);
    size += (n - q0) * (Math.min(n, q0 + b) - q0);
  }
  const blocks = starts.length;
  const w = new Float32Array(size);
  const block = (q: number): { q0: number; bq: number; wq: Float32Array } => {
    const q0 = starts[q];
    const bq = Math.min(n, q0 + b) - q0;
    return { q0, bq, wq: w.subarray(offsets[q], offsets[q] + (n - q0) * bq) };
  };
  for (let q = 0; q < blocks; q++) {
    const { q0, bq, wq } = block(q);
    for (let r = q0; r < n; r++) wq.set(k.subarray(r * n + q0, r * n + q0 + bq), (r - q0) * bq);
  }
  const scratch = new Float32Array(Math.max(0, n - Math.min(b, n)) * Math.min(b, n));
  const diagInverses: Float32Array[] = [];
  let minRatio = Infinity;
  for (let j = 0; j < blocks; j++) {
    const { q0: j0, bq: bj, wq: wj } = block(j);
    const d = factorDiagonalBlock(wj, bj, k, l, n, j0, bj, shift, minPivotRatio, kernel);
    minRatio = Math.min(minRatio, d.minRatio);
    diagInverses.push(d.inverse);
    const j1 = j0 + bj;
    const rest = n - j1;
    if (rest === 0) continue;
    const q = scratch.subarray(0, rest * bj);
    await kernels.mulTransposed(wj.subarray(bj * bj), rest, bj, d.inverse, q);
    const p = wj.subarray(bj * bj);
    p.set(q);
    for (let r = 0; r < rest; r++) l.set(p.subarray(r * bj, (r + 1) * bj), (j1 + r) * n + j0);
    for (let t = j + 1; t < blocks; t++) {
      const { q0, bq, wq } = block(t);
      const from = (q0 - j1) * bj;
      await kernels.updateInPlace(wq, n - q0, bq, p.subarray(from), p.subarray(from, from + bq * bj), bj);
    }
  }
  return { diagInverses, minRatio };
}

/**
 * Diagonal-block inverses of L for solve block size `b`. When `b` divides the
 * factor's block size they are cut out of the factor's inverses for free (the
 * inverse of a lower block-triangular matrix holds its diagonal blocks'
 * inverses); otherwise they are computed in float64 from L (O(n·b²) in TS).
 */
export function diagonalInverses(chol: Pick<BlockedCholesky, "l" | "n" | "blockSize" | "diagInverses">, b: number): Float32Array[] {
  checkBlockSize("diagonalInverses", b);
  const { l, n, blockSize: bf } = chol;
  if (b === bf) return chol.diagInverses;
  const out: Float32Array[] = [];
  for (let i0 = 0; i0 < n; i0 += b) {
    const bi = Math.min(n, i0 + b) - i0;
    const f = Math.floor(i0 / bf);
    const off = i0 - f * bf;
    if (off + bi <= bf) {
      const src = chol.diagInverses[f];
      const bfj = Math.round(Math.sqrt(src.length));
      const d = new Float32Array(bi * bi);
      for (let i = 0; i < bi; i++) d.set(src.subarray((off + i) * bfj + off, (off + i) * bfj + off + bi), i * bi);
      out.push(d);
      continue;
    }
    const a = new Float64Array(bi * bi);
    for (let i = 0; i < bi; i++) for (let c = 0; c <= i; c++) a[i * bi + c] = l[(i0 + i) * n + i0 + c];
    out.push(Float32Array.from(invertLowerTriangular(a, bi)));
  }
  return out;
}

/** True when `out` is X itself; an error when the two overlap otherwise. */
function solvesInPlace(fn: string, x: Float32Array, out: Float32Array): boolean {
  if (out.buffer !== x.buffer) return false;
  if (out.byteOffset === x.byteOffset && out.length === x.length) return true;
  if (out.byteOffset < x.byteOffset + x.byteLength && x.byteOffset < out.byteOffset + out.byteLength) {
    throw new Error(`${fn}: the output overlaps X without being X`);
  }
  return false;
}

/**
 * α = L⁻ᵀ·L⁻¹·X by blocked substitution with block size b (one entry of
 * `dInv` per block). The forward pass writes Y = L⁻¹X into `out` and the
 * backward pass turns it into α there, one block through a (b × m) temporary,
 * so no n × m scratch is needed. `out` may be X itself (solved in place: the
 * forward pass goes through the temporary too), not a part of it.
 */
export async function blockedCholeskySolve(
  kernels: CholeskyKernels,
  l: Float32Array,
  n: number,
  dInv: readonly Float32Array[],
  b: number,
  x: Float32Array,
  m: number,
  out: Float32Array,
): Promise<Float32Array> {
  const blocks = Math.ceil(n / b);
  if (dInv.length !== blocks) throw new Error(`blockedCholeskySolve: ${dInv.length} diagonal inverses for ${blocks} blocks`);
  if (x.length !== n * m) throw new Error(`blockedCholeskySolve: X has ${x.length} entries, expected n×m = ${n}×${m}`);
  if (out.length !== n * m) throw new Error(`blockedCholeskySolve: the output has ${out.length} entries, expected n×m = ${n * m}`);
  const inPlace = solvesInPlace("blockedCholeskySolve", x, out);
  const temp = new Float32Array(Math.min(b, n) * m);
  for (let t = 0; t < blocks; t++) {
    const i0 = t * b;
    const i1 = Math.min(n, i0 + b);
    const block = out.subarray(i0 * m, i1 * m);
    if (inPlace) {
      const next = temp.subarray(0, block.length);
      await kernels.forwardStep(l, n, i0, i1, block, out, m, dInv[t], next);
      block.set(next);
    } else {
      await kernels.forwardStep(l, n, i0, i1, x.subarray(i0 * m, i1 * m), out, m, dInv[t], block);
    }
  }
  for (let t = blocks - 1; t >= 0; t--) {
    const i0 = t * b;
    const i1 = Math.min(n, i0 + b);
    const block = out.subarray(i0 * m, i1 * m);
    const next = temp.subarray(0, block.length);
    await kernels.backwardStep(l, n, i0, i1, block, out.subarray(i1 * m), m, dInv[t], next);
    block.set(next);
  }
  return out;
}

function transpose(a: Float32Array, b: number): Float32Array {
  const t = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) t[j * b + i] = a[i * b + j];
  return t;
}

/**
 * The unit form of a factor for solve block size b: U = L·D̂⁻¹ written into
 * `uOut` (identity diagonal blocks, zeros above) and W_i = D_iᵀ·D_i.
 */
export async function unitForm(
  kernels: CholeskyKernels,
  l: Float32Array,
  n: number,
  dInv: readonly Float32Array[],
  b: number,
  uOut: Float32Array,
): Promise<Float32Array[]> {
  if (uOut.length !== n * n) throw new Error(`unitForm: U buffer has ${uOut.length} entries, expected ${n * n}`);
  uOut.fill(0);
  const w: Float32Array[] = [];
  const scratch = new Float32Array(2 * Math.max(0, n - Math.min(b, n)) * Math.min(b, n));
  for (let t = 0; t * b < n; t++) {
    const i0 = t * b;
    const i1 = Math.min(n, i0 + b);
    const bi = i1 - i0;
    const dT = transpose(dInv[t], bi);
    const wi = new Float32Array(bi * bi);
    await kernels.mulTransposed(dT, bi, bi, dT, wi); // Dᵀ·(Dᵀ)ᵀ = Dᵀ·D
    w.push(wi);
    for (let i = i0; i < i1; i++) uOut[i * n + i] = 1;
    const rest = n - i1;
    if (rest === 0) continue;
    const a = scratch.subarray(0, rest * bi);
    const prod = scratch.subarray(rest * bi, 2 * rest * bi);
    for (let r = 0; r < rest; r++) a.set(l.subarray((i1 + r) * n + i0, (i1 + r) * n + i1), r * bi);
    await kernels.mulTransposed(a, rest, bi, dT, prod); // L_block·D
    for (let r = 0; r < rest; r++) uOut.set(prod.subarray(r * bi, (r + 1) * bi), (i1 + r) * n + i0);
  }
  return w;
}

/** α from the unit form (see the file comment): Z into `out`, then α over it a block at a time; `out` may not alias X. */
export async function blockedUnitSolve(
  kernels: CholeskyKernels,
  u: Float32Array,
  n: number,
  w: readonly Float32Array[],
  b: number,
  x: Float32Array,
  m: number,
  out: Float32Array,
): Promise<Float32Array> {
  const blocks = Math.ceil(n / b);
  if (w.length !== blocks) throw new Error(`blockedUnitSolve: ${w.length} diagonal blocks for ${blocks} blocks`);
  if (x.length !== n * m) throw new Error(`blockedUnitSolve: X has ${x.length} entries, expected n×m = ${n}×${m}`);
  if (out.length !== n * m) throw new Error(`blockedUnitSolve: the output has ${out.length} entries, expected n×m = ${n * m}`);
  const inPlace = solvesInPlace("blockedUnitSolve", x, out);
  const temp = new Float32Array(Math.min(b, n) * m);
  for (let t = 0; t < blocks; t++) {
    const i0 = t * b;
    const i1 = Math.min(n, i0 + b);
    const block = out.subarray(i0 * m, i1 * m);
    if (inPlace) {
      const next = temp.subarray(0, block.length);
      await kernels.forwardUnitStep(u, n, i0, i1, block, out, m, next);
      block.set(next);
    } else {
      await kernels.forwardUnitStep(u, n, i0, i1, x.subarray(i0 * m, i1 * m), out, m, block);
    }
  }
  for (let t = blocks - 1; t >= 0; t--) {
    const i0 = t * b;
    const i1 = Math.min(n, i0 + b);
    const block = out.subarray(i0 * m, i1 * m);
    const next = temp.subarray(0, block.length);
    await kernels.backwardUnitStep(u, n, i0, i1, block, out.subarray(i1 * m), m, w[t], next);
    block.set(next);
  }
  return out;
}

/** Plain TypeScript kernels (float64 accumulation): for tests and tiny problems. */
export const tsCholeskyKernels: CholeskyKernels = {
  async panel(k, l, n, j0, j1, out, rows) {
    const bj = j1 - j0;
    const [r0, r1] = rows ?? [j0, n];
    for (let r = r0; r < r1; r++) {
      for (let c = j0; c < j1; c++) {
        let s = k[r * n + c];
        for (let p = 0; p < j0; p++) s -= l[r * n + p] * l[c * n + p];
        out[(r - r0) * bj + (c - j0)] = s;
      }
    }
  },
  async updateInPlace(c, r, bq, a, b, bk) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < bq; j++) {
        let s = c[i * bq + j];
        for (let p = 0; p < bk; p++) s -= a[i * bk + p] * b[j * bk + p];
        c[i * bq + j] = s;
      }
    }
  },
  async mulTransposed(a, r, b, t, out) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < b; j++) {
        let s = 0;
        for (let p = 0; p < b; p++) s += a[i * b + p] * t[j * b + p];
        out[i * b + j] = s;
      }
    }
  },
  async forwardStep(l, n, i0, i1, xi, y, m, d, out) {
    const bi = i1 - i0;
    const t = new Float64Array(bi * m);
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) t[i * m + c] = xi[i * m + c];
      for (let p = 0; p < i0; p++) {
        const lip = l[(i0 + i) * n + p];
        for (let c = 0; c < m; c++) t[i * m + c] -= lip * y[p * m + c];
      }
    }
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) {
        let s = 0;
        for (let p = 0; p < bi; p++) s += d[i * bi + p] * t[p * m + c];
        out[i * m + c] = s;
      }
    }
  },
  async forwardUnitStep(u, n, i0, i1, xi, z, m, out) {
    const bi = i1 - i0;
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) {
        let s = xi[i * m + c];
        for (let p = 0; p < i0; p++) s -= u[(i0 + i) * n + p] * z[p * m + c];
        out[i * m + c] = s;
      }
    }
  },
  async backwardUnitStep(u, n, i0, i1, zi, alphaTail, m, w, out) {
    const bi = i1 - i0;
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) {
        let s = 0;
        for (let p = 0; p < bi; p++) s += w[i * bi + p] * zi[p * m + c];
        for (let p = i1; p < n; p++) s -= u[p * n + i0 + i] * alphaTail[(p - i1) * m + c];
        out[i * m + c] = s;
      }
    }
  },
  async backwardStep(l, n, i0, i1, yi, alphaTail, m, d, out) {
    const bi = i1 - i0;
    const t = new Float64Array(bi * m);
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) t[i * m + c] = yi[i * m + c];
      for (let p = i1; p < n; p++) {
        const lpi = l[p * n + i0 + i];
        for (let c = 0; c < m; c++) t[i * m + c] -= lpi * alphaTail[(p - i1) * m + c];
      }
    }
    for (let i = 0; i < bi; i++) {
      for (let c = 0; c < m; c++) {
        let s = 0;
        for (let p = 0; p < bi; p++) s += d[p * bi + i] * t[p * m + c];
        out[i * m + c] = s;
      }
    }
  },
};
