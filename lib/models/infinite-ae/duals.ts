/**
 * ∞-AE's duals α = (K + c·I)⁻¹ X with c = λ·tr(K)/n (docs/protocol.md §2), on
 * the float32 SPD solver of lib/linalg.
 *
 *   const solver = new SpdSolver(backend);               // owns the reusable buffers
 *   for (const lambda of [1, 5, 20]) {
 *     const alpha = await solveDuals(K, n, X, m, lambda, backend, { solver });
 *   }
 */
import { checkSolveShapes } from "../../linalg/cholesky.ts";
import { DEFAULT_MAX_RESIDUAL, type SolveOptions, SpdSolver, type SpdSolverOptions } from "../../linalg/spd-solver.ts";
import type { Backend } from "../../onnx/backend.ts";

/** The shift c = λ·tr(K)/n of docs/protocol.md §2 (trace summed in float64). */
export function ridgeShift(k: ArrayLike<number>, n: number, lambda: number): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`ridgeShift: λ must be finite and ≥ 0, got ${lambda}`);
  if (k.length !== n * n) throw new Error(`ridgeShift: K has ${k.length} entries, expected ${n}×${n}`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += k[i * n + i];
  return ridgeShiftOfTrace(trace, n, lambda);
}

/** ridgeShift from tr(K) summed already (the same float64 sum gives the same c). */
export function ridgeShiftOfTrace(trace: number, n: number, lambda: number): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`ridgeShift: λ must be finite and ≥ 0, got ${lambda}`);
  return (lambda * trace) / n;
}

export interface SolveDualsOptions extends SolveOptions {
  /** Residual bound checked on sampled columns (default 1e-4; Infinity turns the check off). */
  maxResidual?: number;
  /** A solver whose buffers to reuse (one per K and λ grid); default: a fresh one. */
  solver?: SpdSolver;
  /** Pre-allocated n × m output for α. */
  out?: Float32Array;
  /** Options for a fresh solver (ignored when `solver` is given). */
  solverOptions?: SpdSolverOptions;
}

/**
 * The ∞-AE duals α = (K + λ·tr(K)/n · I)⁻¹ X (docs/protocol.md §2). Throws
 * SingularKernelError when K + c·I is not numerically positive definite
 * (typically λ = 0 with duplicate users) or when the residual estimated on
 * sampled columns exceeds `maxResidual` (default 1e-4).
 */
export async function solveDuals(
  k: Float32Array,
  n: number,
  x: Float32Array,
  m: number,
  lambda: number,
  backend: Backend,
  options: SolveDualsOptions = {},
): Promise<Float32Array> {
  checkSolveShapes("solveDuals", k, n, x, m);
  const shift = ridgeShift(k, n, lambda);
  const solver = options.solver ?? new SpdSolver(backend, options.solverOptions);
  if (solver.backend !== backend) throw new Error("solveDuals: options.solver was created for another backend");
  const factor = await solver.factor(k, n, shift);
  return factor.solve(x, m, options.out, {
    refine: options.refine,
    maxResidual: options.maxResidual ?? DEFAULT_MAX_RESIDUAL,
    residualColumns: options.residualColumns,
  });
}
