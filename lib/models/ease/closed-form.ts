/**
 * The diagonal pieces of the EASE family's closed form (model.ts), shared by
 * the item-side and the user-side (user-side.ts) solves:
 *   Λ = λI + p/(1−p)·diag(XᵀX),   B = I − P·diag(γ),   γ_j = max(Λ_jj, (1 − ξ)/P_jj)
 * and DAN's normalisations (Park et al., "Why is Normalization Necessary for
 * Linear Recommenders?", SIGIR 2025): the Gram weights user u by n_u^(−β)
 * (G = Xᵀ·diag(n_u^(−β))·X), and B becomes diag(s)·B·diag(s)⁻¹ with
 * s_j = n_j^(1−α) for item counts n_j (α = 1, β = 0: no normalisation).
 */
import { InteractionMatrix } from "../../data/matrix.ts";

/** Σ_u X_uj² per item (the item counts of binary data): the dropout term's diag(XᵀX), unweighted as in DAN. */
export function itemSquareSums(train: InteractionMatrix): Float64Array {
  const d = new Float64Array(train.numItems);
  for (let p = 0; p < train.indices.length; p++) d[train.indices[p]] += train.values[p] * train.values[p];
  return d;
}

/** √(n_u^(−β)) per user, n_u = Σ_j X_uj (1 for an empty row): rows scaled by it give DAN's weighted Gram. */
export function userRowScales(train: InteractionMatrix, beta: number): Float32Array {
  const out = new Float32Array(train.numUsers);
  for (let u = 0; u < train.numUsers; u++) {
    let n = 0;
    for (const v of train.rowValues(u)) n += v;
    out[u] = n > 0 ? Math.pow(n, -beta / 2) : 1;
  }
  return out;
}

/** s_j = n_j^(1−α) per item, n_j = Σ_u X_uj (1 for an item without interactions: its column of B is 0). */
export function itemScales(train: InteractionMatrix, alpha: number): Float64Array {
  return Float64Array.from(train.itemCounts(), (n) => (n > 0 ? Math.pow(n, 1 - alpha) : 1));
}

/** A copy of X with row u scaled by `scales[u]`. */
export function scaleRows(train: InteractionMatrix, scales: Float32Array): InteractionMatrix {
  const values = new Float32Array(train.values.length);
  for (let u = 0; u < train.numUsers; u++) for (let p = train.indptr[u]; p < train.indptr[u + 1]; p++) values[p] = train.values[p] * scales[u];
  return new InteractionMatrix(train.numUsers, train.numItems, train.indptr, train.indices, values);
}

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
