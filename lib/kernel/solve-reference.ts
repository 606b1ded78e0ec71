/**
 * Float64 reference for the ∞-AE dual solve α = (K + c·I)⁻¹ X with K symmetric
 * positive definite: a plain unblocked Cholesky and two triangular solves.
 * O(n³ + n²m) in TypeScript: for tests and small problems only. The fast
 * float32 solver (lib/onnx/solve.ts) is tested against it.
 *
 * `SingularKernelError` lives here, not in lib/onnx, so that model code can
 * catch it without importing ONNX Runtime.
 */

/** Default for `minPivotRatio`: a pivot below this share of its diagonal entry means K_reg is (numerically) singular. */
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

export function checkSolveShapes(fn: string, k: ArrayLike<number>, n: number, x: ArrayLike<number>, m: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(m) || m < 1) throw new Error(`${fn}: m must be a positive integer, got ${m}`);
  if (k.length !== n * n) throw new Error(`${fn}: K has ${k.length} entries, expected n×n = ${n}×${n} = ${n * n}`);
  if (x.length !== n * m) throw new Error(`${fn}: X has ${x.length} entries, expected n×m = ${n}×${m} = ${n * m}`);
}

/** The shift c = λ·tr(K)/n of PROTOCOL.md §2 (trace summed in float64). */
export function ridgeShift(k: ArrayLike<number>, n: number, lambda: number): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`ridgeShift: λ must be finite and ≥ 0, got ${lambda}`);
  if (k.length !== n * n) throw new Error(`ridgeShift: K has ${k.length} entries, expected ${n}×${n}`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += k[i * n + i];
  return (lambda * trace) / n;
}

/**
 * Lower Cholesky factor L (row-major n × n, zeros above the diagonal) of
 * K + shift·I, in float64. Only the lower triangle of K is read.
 */
export function choleskyReference(
  k: ArrayLike<number>,
  n: number,
  shift = 0,
  minPivotRatio = DEFAULT_MIN_PIVOT_RATIO,
): Float64Array {
  if (k.length !== n * n) throw new Error(`choleskyReference: K has ${k.length} entries, expected ${n}×${n}`);
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const diag = k[j * n + j] + shift;
    let d = diag;
    for (let p = 0; p < j; p++) d -= l[j * n + p] * l[j * n + p];
    checkPivot(j, d, diag, minPivotRatio);
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = k[i * n + j];
      for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** Solves L·Lᵀ·α = X for row-major X (n × m) given the lower factor L; float64. */
export function choleskySolveReference(l: Float64Array, n: number, x: ArrayLike<number>, m: number): Float64Array {
  if (x.length !== n * m) throw new Error(`choleskySolveReference: X has ${x.length} entries, expected ${n}×${m}`);
  const y = Float64Array.from(x);
  // Forward: L·y = x, row by row over all right-hand sides at once.
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
  // Backward: Lᵀ·α = y.
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

/** α = (K + shift·I)⁻¹ X in float64 (row-major K n × n, X n × m). */
export function solveReference(
  k: ArrayLike<number>,
  n: number,
  x: ArrayLike<number>,
  m: number,
  shift = 0,
  minPivotRatio = DEFAULT_MIN_PIVOT_RATIO,
): Float64Array {
  checkSolveShapes("solveReference", k, n, x, m);
  return choleskySolveReference(choleskyReference(k, n, shift, minPivotRatio), n, x, m);
}

/** ‖(K + shift·I)·α − X‖_F / ‖X‖_F, all in float64. */
export function relativeResidualReference(
  k: ArrayLike<number>,
  n: number,
  shift: number,
  alpha: ArrayLike<number>,
  x: ArrayLike<number>,
  m: number,
): number {
  checkSolveShapes("relativeResidualReference", k, n, x, m);
  if (alpha.length !== n * m) throw new Error(`relativeResidualReference: α has ${alpha.length} entries, expected ${n}×${m}`);
  const row = new Float64Array(m);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) row[c] = shift * alpha[i * m + c] - x[i * m + c];
    for (let p = 0; p < n; p++) {
      const kip = k[i * n + p];
      if (kip === 0) continue;
      for (let c = 0; c < m; c++) row[c] += kip * alpha[p * m + c];
    }
    for (let c = 0; c < m; c++) {
      num += row[c] * row[c];
      den += x[i * m + c] * x[i * m + c];
    }
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}
