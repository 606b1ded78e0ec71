/**
 * Fold-in: embeddings for users the model was not trained on, computed from
 * their item history with the item parameters held fixed.
 *
 * `ridgeFoldIn` is the implicit-ALS fold-in (Hu, Koren & Volinsky 2008):
 *   p = argmin Σ_{i∈history} w_i (1 − p·v_i)² + α Σ_{all i} (p·v_i)² + λ‖p‖²
 *     = (Σ_hist w_i v_i v_iᵀ + α G + λ I)⁻¹ Σ_hist w_i v_i,   G = Σ_i v_i v_iᵀ.
 * It is closed-form and deterministic, costs O(nnz·d² + d³) per user, and
 * treats fractional (distilled) weights as confidences.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import { choleskyFactor, choleskySolve } from "../../linalg/cholesky.ts";
import type { Vec } from "./math.ts";

/** How a model represents the users of a scoring context. */
export type UserMode = "auto" | "learned" | "foldin";

/**
 * "learned" when the context rows are the fitted users (the very training
 * matrix, or a matrix with the same number of users — the train + validation
 * context of the same dataset); otherwise "foldin".
 */
export function resolveUserMode(
  where: string, mode: UserMode, context: InteractionMatrix, train: InteractionMatrix,
): "learned" | "foldin" {
  if (context.numItems !== train.numItems) {
    throw new Error(`${where}: context has ${context.numItems} items, the model was fitted on ${train.numItems}`);
  }
  if (mode === "foldin") return "foldin";
  const same = context === train || context.numUsers === train.numUsers;
  if (mode === "learned") {
    if (!same) throw new Error(`${where}: userMode "learned" but the context has ${context.numUsers} users, the model ${train.numUsers}`);
    return "learned";
  }
  return same ? "learned" : "foldin";
}

/** G = Σ_i v_i v_iᵀ over the ni × d table at p[offset…], in float64. */
export function itemGram(p: Vec, offset: number, numItems: number, dim: number): Float64Array {
  const g = new Float64Array(dim * dim);
  for (let i = 0; i < numItems; i++) {
    const o = offset + i * dim;
    for (let a = 0; a < dim; a++) {
      const va = p[o + a];
      for (let b = 0; b < dim; b++) g[a * dim + b] += va * p[o + b];
    }
  }
  return g;
}

export interface RidgeFoldInOptions {
  /** α: weight of the zero target on every item. */
  unobservedWeight: number;
  /** λ: ridge on the user vector. */
  lambda: number;
}

/**
 * Writes the fold-in vector of one history (items, weights) into out[0, dim).
 * `gram` is itemGram of the same table; `work` must hold dim² + dim values.
 */
export function ridgeFoldIn(
  p: Vec, offset: number, dim: number, gram: Float64Array,
  items: ArrayLike<number>, weights: ArrayLike<number>, options: RidgeFoldInOptions,
  out: Vec, work: Float64Array,
): void {
  const a = work.subarray(0, dim * dim);
  const rhs = work.subarray(dim * dim, dim * dim + dim);
  const alpha = options.unobservedWeight;
  for (let k = 0; k < dim * dim; k++) a[k] = alpha * gram[k];
  for (let k = 0; k < dim; k++) a[k * dim + k] += options.lambda;
  rhs.fill(0);
  for (let t = 0; t < items.length; t++) {
    const w = weights[t];
    const o = offset + items[t] * dim;
    for (let x = 0; x < dim; x++) {
      const wx = w * p[o + x];
      rhs[x] += wx;
      for (let y = 0; y < dim; y++) a[x * dim + y] += wx * p[o + y];
    }
  }
  const x = choleskySolve(choleskyFactor(a, dim), dim, rhs, 1);
  for (let k = 0; k < dim; k++) out[k] = x[k];
}
