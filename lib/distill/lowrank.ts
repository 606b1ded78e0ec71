/**
 * Low-rank synthetic logits for DISTILL-CF (issue 14, item 3): L = U·V with
 * U (μ × d) and V (d × I), as in later sequential distillation work. The run
 * driver materialises L for the sampler each step and maps the sampler's dL
 * back with dU = dL·Vᵀ and dV = Uᵀ·dL (float64 TypeScript: μ·d·I each, small
 * next to a step), then takes an Adam step on U and V.
 *
 * Initialisation: the best rank-d approximation of the initial logits X₀
 * (μ random users' binary rows), from the eigendecomposition of the μ × μ
 * Gram X₀X₀ᵀ = Σ_j σ_j² u_j u_jᵀ (float64): U's column j is σ_j^½·u_j and
 * V's row j is σ_j^(−½)·u_jᵀX₀ (= σ_j^½·v_jᵀ), so U·V = Σ_{j<d} u_j u_jᵀ X₀
 * — the truncated SVD, with both factors equally scaled. A direction with
 * σ_j² ≈ 0 (rank below d) keeps u_j in U and a zero row in V, so Adam can
 * still grow it (dV = Uᵀ·dL ≠ 0), where two zero factors would stay zero.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { addMatmulTransA, matmul, matmulTransB } from "../linalg/dense.ts";

export interface LowRankLogits {
  mu: number;
  items: number;
  rank: number;
  /** μ × d, row-major. */
  u: Float64Array;
  /** d × I, row-major. */
  v: Float64Array;
}

/** Eigenvalues below this share of the largest count as zero. */
const RELATIVE_ZERO = 1e-12;

/** U, V with U·V the best rank-`rank` approximation of `x0` (μ × I). */
export function initLowRank(x0: Float64Array, mu: number, items: number, rank: number): LowRankLogits {
  if (x0.length !== mu * items) throw new Error(`initLowRank: ${x0.length} initial logits, expected ${mu}×${items}`);
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(mu, items)) {
    throw new Error(`initLowRank: rank must be an integer in [1, min(μ, I)] = [1, ${Math.min(mu, items)}], got ${rank}`);
  }
  const gram = matmulTransB(x0, mu, items, x0, mu);
  const rows: number[][] = [];
  for (let r = 0; r < mu; r++) rows.push(Array.from(gram.subarray(r * mu, (r + 1) * mu)));
  const eig = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix;
  const order = values.map((_, j) => j).sort((a, b) => values[b] - values[a]).slice(0, rank);
  const top = Math.max(values[order[0]], 0);
  const u = new Float64Array(mu * rank);
  const basis = new Float64Array(rank * mu); // row j: u_jᵀ
  const scale = new Float64Array(rank);
  for (let j = 0; j < rank; j++) {
    const s2 = values[order[j]];
    scale[j] = s2 > RELATIVE_ZERO * top ? Math.sqrt(Math.sqrt(s2)) : 0;
    for (let r = 0; r < mu; r++) {
      const e = vectors.get(r, order[j]);
      basis[j * mu + r] = e;
      u[r * rank + j] = scale[j] > 0 ? scale[j] * e : e;
    }
  }
  // V = diag(σ^(−½))·Uₖᵀ·X₀ (zero rows where σ ≈ 0).
  const v = matmul(basis, rank, mu, x0, items);
  for (let j = 0; j < rank; j++) {
    const inv = scale[j] > 0 ? 1 / scale[j] : 0;
    for (let i = j * items; i < (j + 1) * items; i++) v[i] *= inv;
  }
  return { mu, items, rank, u, v };
}

/** L = U·V (μ × I), written into `out` when given. */
export function lowRankProduct(lr: LowRankLogits, out?: Float64Array): Float64Array {
  const l = matmul(lr.u, lr.mu, lr.rank, lr.v, lr.items);
  if (!out) return l;
  out.set(l);
  return out;
}

/** dU = dL·Vᵀ (μ × d) and dV = Uᵀ·dL (d × I) for ∂loss/∂L. */
export function lowRankBackward(lr: LowRankLogits, dLogits: Float64Array): { dU: Float64Array; dV: Float64Array } {
  if (dLogits.length !== lr.mu * lr.items) throw new Error(`lowRankBackward: dL has ${dLogits.length} values, expected ${lr.mu}×${lr.items}`);
  const dU = matmulTransB(dLogits, lr.mu, lr.items, lr.v, lr.rank);
  const dV = addMatmulTransA(new Float64Array(lr.rank * lr.items), lr.u, lr.mu, lr.rank, dLogits, lr.items);
  return { dU, dV };
}
