/**
 * Stage 3 of DISTILL-CF: the ∞-AE inner solve on the support set.
 *
 * Forward: A = sym(K_SS) + c·I with c = λ·tr(K_SS)/μ, α = A⁻¹ X̂ (Cholesky).
 * sym(K) = (K + Kᵀ)/2 is a no-op on the (exactly symmetric) NTK Gram but
 * makes α a function of every entry of K, so its gradient is well defined.
 *
 * Backward, for upstream dα: from dα = A⁻¹(dX̂ − dA·α),
 *   W = A⁻¹ dα (A symmetric),   dX̂ = W,   dA = −W αᵀ,
 * and through A = sym(K) + (λ/μ)·tr(K)·I:
 *   dK = sym(dA) + (λ/μ)·tr(dA)·I.
 * dK then goes to the Gram backward with X̂ in both arguments.
 */
import { choleskyFactor, choleskySolve } from "../linalg/cholesky.ts";
import { matmulTransB } from "../linalg/dense.ts";

export interface KrrSolution {
  /** α = A⁻¹ X̂, μ × I. */
  alpha: Float64Array;
  /** Lower Cholesky factor of A, μ × μ (reused by the backward). */
  factor: Float64Array;
  /** The ridge c = λ·tr(K_SS)/μ that was added. */
  ridge: number;
}

/** A = sym(K_SS) + c·I with c = λ·tr(K_SS)/μ: the inner solve's matrix, and c. */
export function ridgedSymmetric(kSS: Float64Array, mu: number, lambda: number): { a: Float64Array; ridge: number } {
  let trace = 0;
  for (let i = 0; i < mu; i++) trace += kSS[i * mu + i];
  const ridge = (lambda * trace) / mu;
  const a = new Float64Array(mu * mu);
  for (let i = 0; i < mu; i++) {
    for (let j = 0; j < mu; j++) a[i * mu + j] = 0.5 * (kSS[i * mu + j] + kSS[j * mu + i]);
    a[i * mu + i] += ridge;
  }
  return { a, ridge };
}

export function krrSolve(kSS: Float64Array, mu: number, support: Float64Array, items: number, lambda: number): KrrSolution {
  if (kSS.length !== mu * mu) throw new Error(`krrSolve: K_SS has ${kSS.length} values, expected ${mu}×${mu}`);
  if (support.length !== mu * items) throw new Error(`krrSolve: support has ${support.length} values, expected ${mu}×${items}`);
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`krrSolve: lambda must be a finite number ≥ 0, got ${lambda}`);
  const { a, ridge } = ridgedSymmetric(kSS, mu, lambda);
  const factor = choleskyFactor(a, mu);
  return { alpha: choleskySolve(factor, mu, support, items), factor, ridge };
}

export interface KrrSolveGradients {
  /** Gradient w.r.t. K_SS (μ × μ, symmetric). */
  dKss: Float64Array;
  /** Gradient w.r.t. X̂ through the right-hand side only (μ × I). */
  dSupport: Float64Array;
}

export function krrSolveBackward(
  solution: KrrSolution,
  mu: number,
  items: number,
  lambda: number,
  dAlpha: Float64Array,
): KrrSolveGradients {
  if (dAlpha.length !== mu * items) throw new Error(`krrSolveBackward: dAlpha has ${dAlpha.length} values, expected ${mu}×${items}`);
  const w = choleskySolve(solution.factor, mu, dAlpha, items);
  const wAlphaT = matmulTransB(w, mu, items, solution.alpha, mu); // W αᵀ; dA is its negative
  return { dKss: ridgeAdjoint(wAlphaT, mu, lambda), dSupport: w };
}

/**
 * dK_SS from W·αᵀ (μ × μ), W = A⁻¹dα: dA = −Wαᵀ through A = sym(K_SS) + (λ·tr(K_SS)/μ)·I,
 * so dK_SS = sym(dA) + (λ/μ)·tr(dA)·I.
 */
export function ridgeAdjoint(wAlphaT: ArrayLike<number>, mu: number, lambda: number): Float64Array {
  let traceDA = 0;
  for (let i = 0; i < mu; i++) traceDA -= wAlphaT[i * mu + i];
  const dKss = new Float64Array(mu * mu);
  for (let i = 0; i < mu; i++) {
    for (let j = 0; j < mu; j++) dKss[i * mu + j] = -0.5 * (wAlphaT[i * mu + j] + wAlphaT[j * mu + i]);
    dKss[i * mu + i] += (lambda / mu) * traceDA;
  }
  return dKss;
}
