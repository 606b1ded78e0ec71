/**
 * The DISTILL-CF objective and its analytic gradient, stage by stage:
 *
 *   sample  X̂ = hardtanh(Σ_k softmax((L + G_k)/τ))            (sample.ts)
 *   gram    K_SS = K(X̂, X̂),  K_BS = K(X_B, X̂)                 (GramEngine)
 *   solve   α = (sym(K_SS) + λ·tr(K_SS)/μ·I)⁻¹ Y,  Y = X̂        (solve.ts)
 *           or learned targets Y (KIP): then X̂ only enters through K
 *   score   P = K_BS·α                                          (here)
 *   loss    mean_B ℓ(P, X_B) + λ₂·mean_rows(Σ X̂)/(N/U)         (loss.ts)
 *
 * Backward runs the stages in reverse. Score: dK_BS = dP·αᵀ, dα = K_BSᵀ·dP.
 * The batch is processed in blocks of users, so P, dP and K_BS exist for one
 * block at a time (memory O(block·(I + μ))): each block's K_BS gradient goes
 * straight to the Gram backward in X̂ (the second argument), and its dα is
 * summed. Then the solve backward turns dα into dK_SS and a direct dX̂, the
 * Gram backward of K(X̂, X̂) adds both arguments' terms, the penalty adds a
 * constant, and the sample backward maps dX̂ to dL. With learned targets the
 * solve backward's right-hand-side term W = A⁻¹dα is dY instead of a part of dX̂.
 */
import { addMatmulTransA, matmul, matmulTransB } from "../linalg/dense.ts";
import { cardinalityPenalty, reconstructionLoss, type ReconstructionLoss } from "./loss.ts";
import { sampleSupport, sampleSupportBackward, type GumbelSource, type SampleConfig } from "./sample.ts";
import { krrSolve, krrSolveBackward } from "./solve.ts";
import type { GramEngine } from "./gram-engine.ts";

/** Score stage forward: P = K_BS·α (rows × I). */
export function scoreForward(kBS: Float64Array, rows: number, mu: number, alpha: Float64Array, items: number): Float64Array {
  return matmul(kBS, rows, mu, alpha, items);
}

/**
 * Score stage backward: adds K_BSᵀ·dP into `dAlpha` (μ × I) and returns
 * dK_BS = dP·αᵀ (rows × μ).
 */
export function scoreBackward(
  kBS: Float64Array,
  rows: number,
  mu: number,
  alpha: Float64Array,
  items: number,
  dScores: Float64Array,
  dAlpha: Float64Array,
): Float64Array {
  addMatmulTransA(dAlpha, kBS, rows, mu, dScores, items);
  return matmulTransB(dScores, rows, items, alpha, mu);
}

/** Real users to reconstruct, handed out as dense row blocks. */
export interface UserBatch {
  readonly rows: number;
  /** Dense rows [start, end) as a row-major (end − start) × I Float64Array. */
  block(start: number, end: number): Float64Array;
}

/** A batch held as one dense row-major matrix (tests, small problems). */
export function denseUserBatch(rowsData: Float64Array, rows: number, items: number): UserBatch {
  if (rowsData.length !== rows * items) throw new Error(`denseUserBatch: ${rowsData.length} values, expected ${rows}×${items}`);
  return { rows, block: (start, end) => rowsData.subarray(start * items, end * items) };
}

export interface ObjectiveConfig {
  /** Ridge λ of the inner ∞-AE solve (scaled by tr(K_SS)/μ). */
  lambda: number;
  /** Weight λ₂ of the cardinality penalty. */
  lambda2: number;
  /** N/U: train interactions per user, normalising the penalty. */
  interactionsPerUser: number;
  /** NTK depth (hidden layers). */
  depth: number;
  loss: ReconstructionLoss;
  engine: GramEngine;
  /** Users per Gram block in the score stage. */
  batchBlock: number;
  /**
   * Learned regression targets Y (μ × I) of the inner solve, α = A⁻¹Y (as in
   * KIP and fast-step.ts's FastStepConfig.targets); absent or null: Y = X̂.
   */
  targets?: Float64Array | null;
}

export interface SupportObjectiveResult {
  /** reconstruction + penalty. */
  loss: number;
  reconstruction: number;
  penalty: number;
  /** ∂loss/∂X̂ (μ × I), or null when not requested. */
  dSupport: Float64Array | null;
  /** ∂loss/∂Y (μ × I) with learned targets and the gradient, else null. */
  dTargets: Float64Array | null;
}

/** Loss (and gradient) as a function of the support set X̂ itself. */
export async function supportObjective(
  support: Float64Array,
  mu: number,
  items: number,
  batch: UserBatch,
  cfg: ObjectiveConfig,
  wantGradient = true,
): Promise<SupportObjectiveResult> {
  if (support.length !== mu * items) throw new Error(`supportObjective: support has ${support.length} values, expected ${mu}×${items}`);
  if (batch.rows < 1) throw new Error("supportObjective: the batch has no users");
  if (!Number.isInteger(cfg.batchBlock) || cfg.batchBlock < 1) throw new Error(`supportObjective: batchBlock must be an integer ≥ 1, got ${cfg.batchBlock}`);
  const { engine, depth } = cfg;
  const targets = cfg.targets ?? null;
  if (targets && targets.length !== mu * items) throw new Error(`supportObjective: targets have ${targets.length} values, expected ${mu}×${items}`);
  const kSS = await engine.gram(support, mu, support, mu, items, depth);
  const solution = krrSolve(kSS, mu, targets ?? support, items, cfg.lambda);
  const alpha = solution.alpha;

  let reconstruction = 0;
  const dAlpha = wantGradient ? new Float64Array(mu * items) : null;
  const dSupport = wantGradient ? new Float64Array(mu * items) : null;
  for (let start = 0; start < batch.rows; start += cfg.batchBlock) {
    const end = Math.min(batch.rows, start + cfg.batchBlock);
    const rows = end - start;
    const xB = batch.block(start, end);
    const kBS = await engine.gram(xB, rows, support, mu, items, depth);
    const scores = scoreForward(kBS, rows, mu, alpha, items);
    const dScores = dAlpha ? new Float64Array(rows * items) : undefined;
    reconstruction += reconstructionLoss(scores, xB, rows, items, cfg.loss, batch.rows, dScores);
    if (dAlpha && dSupport && dScores) {
      const dKBS = scoreBackward(kBS, rows, mu, alpha, items, dScores, dAlpha);
      const { dB } = await engine.gramBackward(xB, rows, support, mu, items, depth, dKBS, false, true);
      if (!dB) throw new Error("supportObjective: the Gram engine returned no gradient for its second argument");
      for (let p = 0; p < dSupport.length; p++) dSupport[p] += dB[p];
    }
  }
  const penalty = cardinalityPenalty(support, mu, cfg.lambda2, cfg.interactionsPerUser);
  let dTargets: Float64Array | null = null;
  if (dAlpha && dSupport) {
    const { dKss, dSupport: dRhs } = krrSolveBackward(solution, mu, items, cfg.lambda, dAlpha);
    const { dA, dB } = await engine.gramBackward(support, mu, support, mu, items, depth, dKss, true, true);
    if (!dA || !dB) throw new Error("supportObjective: the Gram engine returned no gradient for K(X̂, X̂)");
    // The right-hand side of the solve is Y: its term belongs to dY when the targets are learned.
    if (targets) dTargets = dRhs;
    for (let p = 0; p < dSupport.length; p++) dSupport[p] += (targets ? 0 : dRhs[p]) + dA[p] + dB[p] + penalty.gradient;
  }
  return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport, dTargets };
}

export interface DistillObjectiveResult extends SupportObjectiveResult {
  /** The sampled support X̂ (μ × I). */
  support: Float64Array;
  /** ∂loss/∂L (μ × I), or null when not requested. */
  dLogits: Float64Array | null;
}

/** Loss (and gradient) as a function of the logits L, for fixed noise. */
export async function distillObjective(
  logits: Float64Array,
  mu: number,
  items: number,
  batch: UserBatch,
  cfg: ObjectiveConfig & SampleConfig,
  noise: GumbelSource,
  wantGradient = true,
): Promise<DistillObjectiveResult> {
  const { support, summed } = sampleSupport(logits, mu, items, cfg, noise);
  const inner = await supportObjective(support, mu, items, batch, cfg, wantGradient);
  const dLogits = inner.dSupport
    ? sampleSupportBackward(logits, mu, items, cfg, noise, summed, inner.dSupport)
    : null;
  return { ...inner, support, dLogits };
}
