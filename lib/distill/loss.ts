/**
 * Stage 5 of DISTILL-CF: the outer loss on the scores P = K(X_B, X̂)·α.
 *
 * "softmax" (the official code): per user u, −Σ_i log_softmax(P_u)_i · X_ui
 *   = lse(P_u)·Σ_i X_ui − Σ_i X_ui P_ui;  ∂/∂P_u = softmax(P_u)·Σ_i X_ui − X_u.
 * "logistic" (the paper's Eq. (3)): sigmoid cross-entropy summed over items,
 *   Σ_i softplus(P_ui) − X_ui P_ui;  ∂/∂P_ui = σ(P_ui) − X_ui.
 * Both are averaged over the batch's users (the caller passes the batch size
 * as `normaliser`, so blocks of a batch can be processed separately).
 *
 * Cardinality penalty: λ₂ · mean_rows(Σ_i X̂) / (N/U), N = train interactions,
 * U = users; its gradient is the constant λ₂ / (μ·N/U). X̂ ≥ 0, so it equals
 * the paper's L1 penalty on X̂ (up to the normalisation).
 */
export type ReconstructionLoss = "softmax" | "logistic";

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Σ over these `rows` users of the per-user loss, divided by `normaliser`.
 * When `dScores` is given it receives ∂(that value)/∂P (rows × items).
 */
export function reconstructionLoss(
  scores: Float64Array,
  targets: Float64Array,
  rows: number,
  items: number,
  kind: ReconstructionLoss,
  normaliser: number,
  dScores?: Float64Array,
): number {
  if (scores.length !== rows * items || targets.length !== rows * items) {
    throw new Error(`reconstructionLoss: scores/targets must hold ${rows}×${items} values`);
  }
  if (dScores && dScores.length !== rows * items) throw new Error(`reconstructionLoss: dScores must hold ${rows}×${items} values`);
  if (!(normaliser > 0)) throw new Error(`reconstructionLoss: normaliser must be > 0, got ${normaliser}`);
  const inv = 1 / normaliser;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * items;
    if (kind === "softmax") {
      let max = -Infinity;
      for (let i = 0; i < items; i++) if (scores[base + i] > max) max = scores[base + i];
      let sumExp = 0;
      let sumX = 0;
      let dotXP = 0;
      for (let i = 0; i < items; i++) {
        sumExp += Math.exp(scores[base + i] - max);
        sumX += targets[base + i];
        dotXP += targets[base + i] * scores[base + i];
      }
      const lse = max + Math.log(sumExp);
      total += lse * sumX - dotXP;
      if (dScores) {
        for (let i = 0; i < items; i++) {
          dScores[base + i] = (Math.exp(scores[base + i] - lse) * sumX - targets[base + i]) * inv;
        }
      }
    } else if (kind === "logistic") {
      for (let i = 0; i < items; i++) {
        const p = scores[base + i];
        total += softplus(p) - targets[base + i] * p;
        if (dScores) dScores[base + i] = (sigmoid(p) - targets[base + i]) * inv;
      }
    } else {
      throw new Error(`reconstructionLoss: unknown loss ${String(kind)} (use "softmax" or "logistic")`);
    }
  }
  return total * inv;
}

/** λ₂ · mean_rows(Σ_i X̂) / interactionsPerUser, and its (constant) gradient per entry. */
export function cardinalityPenalty(
  support: Float64Array,
  mu: number,
  lambda2: number,
  interactionsPerUser: number,
): { value: number; gradient: number } {
  let sum = 0;
  for (let p = 0; p < support.length; p++) sum += support[p];
  return cardinalityPenaltyOfSum(sum, mu, lambda2, interactionsPerUser);
}

/** cardinalityPenalty from Σ X̂ (summed by the caller, e.g. while copying X̂ from a device). */
export function cardinalityPenaltyOfSum(sum: number, mu: number, lambda2: number, interactionsPerUser: number): { value: number; gradient: number } {
  if (!(interactionsPerUser > 0)) throw new Error(`cardinalityPenalty: interactionsPerUser must be > 0, got ${interactionsPerUser}`);
  const scale = lambda2 / (mu * interactionsPerUser);
  return { value: sum * scale, gradient: scale };
}
