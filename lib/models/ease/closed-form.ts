/**
 * The diagonal pieces of the EASE family's closed form (model.ts), shared by
 * the item-side and the user-side (user-side.ts) solves:
 *   Λ = λI + p/(1−p)·diag(G),   B = I − P·diag(γ),   γ_j = max(Λ_jj, (1 − ξ)/P_jj)
 */

/** Λ_jj = λ + p/(1−p)·G_jj for the item counts G_jj = Σ_u X_uj². */
export function ridgeDiagonal(gramDiagonal: ArrayLike<number>, lambda: number, dropout: number): Float64Array {
  const scale = dropout / (1 - dropout);
  return Float64Array.from({ length: gramDiagonal.length }, (_, j) => lambda + scale * gramDiagonal[j]);
}

/** γ_j = max(Λ_jj, (1 − ξ)/P_jj): B = I − P·diag(γ) with diag(B) ≤ ξ (ξ = 0: zero diagonal). */
export function diagonalWeights(ridge: ArrayLike<number>, pDiagonal: ArrayLike<number>, diagonalBound: number): Float64Array {
  return Float64Array.from({ length: ridge.length }, (_, j) => {
    if (!(pDiagonal[j] > 0)) throw new Error(`EASE: P_jj = ${pDiagonal[j]} for item ${j}; (G + Λ) is not positive definite in float32`);
    // ξ = 0 is exactly EASE (γ = 1/P_jj ≥ Λ_jj always, since P ≼ Λ⁻¹).
    return diagonalBound === 0 ? 1 / pDiagonal[j] : Math.max(ridge[j], (1 - diagonalBound) / pDiagonal[j]);
  });
}
