/**
 * The float64 dense reference the tests hold the fast solvers against:
 * α = (K + c·I)⁻¹ X by the unblocked float64 Cholesky of cholesky.ts, and the
 * residual ‖(K + c·I)·α − X‖ / ‖X‖ entirely in float64. O(n³ + n²m) in
 * TypeScript: for tests and small problems only.
 */
import { checkSolveShapes, choleskyFactor, choleskySolve, DEFAULT_MIN_PIVOT_RATIO } from "./cholesky.ts";

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
  return choleskySolve(choleskyFactor(k, n, { shift, minPivotRatio }), n, x, m);
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
