/**
 * DISTILL-CF through EASE (issue 14, item 4): the inner model is EASE fitted
 * on the support X̂ = S (μ × I) instead of ∞-AE; the sampling of X̂, the outer
 * loss and the cardinality penalty are unchanged (the run driver samples with
 * the engine's pool and maps dX̂ back to dL with its backward).
 *
 * Forward. EASE on S with ridge λ > 0:
 *   P = (SᵀS + λI)⁻¹,  B = I − P·diag(1/diag(P)),  scores Q = X_B·B.
 * Everything is μ-sized through Woodbury, with A = SSᵀ + λI (μ × μ):
 *   P = (1/λ)(I − Sᵀ A⁻¹ S),   diag(P)_i = (1/λ)(1 − s_iᵀ A⁻¹ s_i)
 * (s_i = column i of S). With M = A⁻¹S (μ × I), C = X_B Sᵀ (n × μ),
 *   E = X_B − C·M  (= λ·X_B·P),   e_i = 1 − Σ_r S_ri M_ri  (= λ·P_ii),
 *   Q = X_B − E·diag(1/e)                                   (λ cancels).
 * No I × I matrix is formed; e_i > 0 because P is positive definite.
 *
 * Loss = ℓ(Q, X_B) (loss.ts, averaged over the batch) + λ₂·mean_rows(Σ S)/(N/U).
 *
 * Backward, for upstream dQ (n × I), in reverse order:
 *   Q_ui = X_ui − E_ui/e_i   ⇒  dE_ui = −dQ_ui/e_i,   de_i = Σ_u dQ_ui·E_ui/e_i²
 *   E = X_B − C·M            ⇒  dC = −dE·Mᵀ,           dM  = −Cᵀ·dE
 *   e_i = 1 − Σ_r S_ri M_ri  ⇒  dS_ri += −de_i·M_ri,   dM_ri += −de_i·S_ri
 *   C = X_B·Sᵀ               ⇒  dS += dCᵀ·X_B
 *   M = A⁻¹S                 ⇒  W = A⁻¹·dM (A symmetric),  dS += W,  dA = −W·Mᵀ
 *   A = S·Sᵀ + λI            ⇒  dS += (dA + dAᵀ)·S = −(W·Mᵀ + M·Wᵀ)·S
 *   penalty                  ⇒  dS += λ₂/(μ·N/U) (a constant)
 * The batch-sized terms (dC, dCᵀX_B, CᵀdE, de) are summed over blocks of
 * users; the μ-sized ones (W and the A term) run once after the blocks.
 *
 * `easeSupportObjective` is the plain float64 reference (tested against
 * central finite differences in tests/distill/ease-inner.test.ts);
 * `FastEaseInner` is the same function on the ONNX backend: the forward
 * products C = X_B·Sᵀ and C·M as float64 Gemms (E = X_B − C·M cancels, and
 * 1/e_i amplifies its rounding when λ is small), the backward's three
 * batch-sized products as float32 Gemms, the μ-sized algebra in float64.
 */
import type { Backend } from "../onnx/backend.ts";
import { runGemm } from "../onnx/graphs/gemm.ts";
import { spdInverse } from "../linalg/cholesky.ts";
import { spdInverseGemm, symmetriseInPlace } from "../linalg/spd-inverse.ts";
import { addMatmulTransA, matmul, matmulTransB } from "../linalg/dense.ts";
import { cardinalityPenalty, reconstructionLoss, type ReconstructionLoss } from "./loss.ts";
import type { UserBatch } from "./objective.ts";
import { type DenseBatch, softmaxLossInPlace } from "./fast-step.ts";

export interface EaseInnerConfig {
  /** EASE's ridge λ (> 0; not scaled, as lib/models/ease uses it). */
  lambda: number;
  /** Weight λ₂ of the cardinality penalty. */
  lambda2: number;
  /** N/U: train interactions per user, normalising the penalty. */
  interactionsPerUser: number;
  loss: ReconstructionLoss;
  /** Users per block in the batch stage. */
  batchBlock: number;
}

export interface EaseInnerResult {
  loss: number;
  reconstruction: number;
  penalty: number;
  /** ∂loss/∂X̂ (μ × I), or null when not requested. */
  dSupport: Float64Array | null;
}

function checkInputs(fn: string, support: Float64Array, mu: number, items: number, rows: number, cfg: EaseInnerConfig): void {
  if (support.length !== mu * items) throw new Error(`${fn}: support has ${support.length} values, expected ${mu}×${items}`);
  if (rows < 1) throw new Error(`${fn}: the batch has no users`);
  if (!(cfg.lambda > 0) || !Number.isFinite(cfg.lambda)) throw new Error(`${fn}: EASE's lambda must be a finite number > 0, got ${cfg.lambda}`);
  if (!Number.isInteger(cfg.batchBlock) || cfg.batchBlock < 1) throw new Error(`${fn}: batchBlock must be an integer ≥ 1, got ${cfg.batchBlock}`);
}

/** e_i = 1 − Σ_r S_ri M_ri (= λ·P_ii), checked > 0. */
function diagonalFactors(support: Float64Array, m: Float64Array, mu: number, items: number): Float64Array {
  const e = new Float64Array(items).fill(1);
  for (let r = 0; r < mu; r++) for (let i = 0; i < items; i++) e[i] -= support[r * items + i] * m[r * items + i];
  for (let i = 0; i < items; i++) {
    if (!(e[i] > 0)) throw new Error(`EASE inner model: λ·P_ii = ${e[i]} for item ${i} is not positive (the ridge is too small for float64)`);
  }
  return e;
}

/** A = S·Sᵀ + λI from the support's dots (μ × μ), in place. */
function addRidge(dots: Float64Array, mu: number, lambda: number): Float64Array {
  for (let r = 0; r < mu; r++) dots[r * mu + r] += lambda;
  return dots;
}

/** C = op(A)·op(B) in float64 (dims are A's and B's stored shapes). */
type Float64Product = (
  a: Float64Array,
  aDims: readonly [number, number],
  transA: boolean,
  b: Float64Array,
  bDims: readonly [number, number],
  transB: boolean,
) => Promise<Float64Array>;

/** dense.ts's float64 loops as a Float64Product (the reference; transA unused there). */
const tsProduct: Float64Product = async (a, aDims, transA, b, bDims, transB) => {
  if (transA) throw new Error("tsProduct: transA is not used by the reference");
  return transB ? matmulTransB(a, aDims[0], aDims[1], b, bDims[0]) : matmul(a, aDims[0], aDims[1], b, bDims[1]);
};

/**
 * The μ-sized part of the backward, shared by both versions: given
 * dMBatch = Σ_blocks CᵀdE and de, adds to dS the terms through e, M = A⁻¹S,
 * A = SSᵀ + λI and the penalty.
 */
async function supportBackward(
  product: Float64Product,
  support: Float64Array,
  m: Float64Array,
  aInv: Float64Array,
  mu: number,
  items: number,
  dMBatch: Float64Array,
  de: Float64Array,
  dSupport: Float64Array,
  penaltyGradient: number,
): Promise<void> {
  // dM = −Σ CᵀdE − S·diag(de);  dS += −M·diag(de).
  const dM = new Float64Array(mu * items);
  for (let r = 0; r < mu; r++) {
    for (let i = 0; i < items; i++) {
      const q = r * items + i;
      dM[q] = -dMBatch[q] - de[i] * support[q];
      dSupport[q] -= de[i] * m[q];
    }
  }
  const w = await product(aInv, [mu, mu], false, dM, [mu, items], false);
  const wmT = await product(w, [mu, items], false, m, [mu, items], true);
  // W·Mᵀ + M·Wᵀ = wmT + wmTᵀ.
  const sym = new Float64Array(mu * mu);
  for (let r = 0; r < mu; r++) for (let c = 0; c < mu; c++) sym[r * mu + c] = wmT[r * mu + c] + wmT[c * mu + r];
  const aTerm = await product(sym, [mu, mu], false, support, [mu, items], false);
  for (let q = 0; q < dSupport.length; q++) dSupport[q] += w[q] - aTerm[q] + penaltyGradient;
}

/** Exactly symmetric (A)⁻¹ of an SPD μ × μ matrix (the float64 reference's: n solves against I). */
function symmetricInverse(a: Float64Array, n: number): Float64Array {
  return symmetriseInPlace(spdInverse(a, n), n);
}

/** The float64 reference: loss (and ∂/∂X̂) of EASE fitted on the support, scoring the batch. */
export async function easeSupportObjective(
  support: Float64Array,
  mu: number,
  items: number,
  batch: UserBatch,
  cfg: EaseInnerConfig,
  wantGradient = true,
): Promise<EaseInnerResult> {
  checkInputs("easeSupportObjective", support, mu, items, batch.rows, cfg);
  const aInv = symmetricInverse(addRidge(matmulTransB(support, mu, items, support, mu), mu, cfg.lambda), mu);
  const m = matmul(aInv, mu, mu, support, items);
  const e = diagonalFactors(support, m, mu, items);

  let reconstruction = 0;
  const dSupport = wantGradient ? new Float64Array(mu * items) : null;
  const dMBatch = wantGradient ? new Float64Array(mu * items) : null;
  const de = new Float64Array(items);
  for (let start = 0; start < batch.rows; start += cfg.batchBlock) {
    const end = Math.min(batch.rows, start + cfg.batchBlock);
    const rows = end - start;
    const xB = batch.block(start, end);
    const c = matmulTransB(xB, rows, items, support, mu);
    const cm = matmul(c, rows, mu, m, items);
    const eMat = new Float64Array(rows * items);
    const q = new Float64Array(rows * items);
    for (let u = 0; u < rows; u++) {
      for (let i = 0; i < items; i++) {
        const p = u * items + i;
        eMat[p] = xB[p] - cm[p];
        q[p] = xB[p] - eMat[p] / e[i];
      }
    }
    const dQ = dSupport ? new Float64Array(rows * items) : undefined;
    reconstruction += reconstructionLoss(q, xB, rows, items, cfg.loss, batch.rows, dQ);
    if (!dSupport || !dMBatch || !dQ) continue;
    const dE = new Float64Array(rows * items);
    for (let u = 0; u < rows; u++) {
      for (let i = 0; i < items; i++) {
        const p = u * items + i;
        dE[p] = -dQ[p] / e[i];
        de[i] += (dQ[p] * eMat[p]) / (e[i] * e[i]);
      }
    }
    // dC = −dE·Mᵀ, dS += dCᵀ·X_B; Σ CᵀdE for dM.
    const dC = matmulTransB(dE, rows, items, m, mu);
    for (let p = 0; p < dC.length; p++) dC[p] = -dC[p];
    addMatmulTransA(dSupport, dC, rows, mu, xB, items);
    addMatmulTransA(dMBatch, c, rows, mu, dE, items);
  }
  const penalty = cardinalityPenalty(support, mu, cfg.lambda2, cfg.interactionsPerUser);
  if (dSupport && dMBatch) await supportBackward(tsProduct, support, m, aInv, mu, items, dMBatch, de, dSupport, penalty.gradient);
  return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport };
}

/** EASE's inner objective on an ONNX backend (float64 forward products, float32 backward ones). */
export class FastEaseInner {

  constructor(readonly backend: Backend) {}

  private readonly product: Float64Product = (a, aDims, transA, b, bDims, transB) => {
    const rows = transA ? aDims[1] : aDims[0];
    const cols = transB ? bDims[0] : bDims[1];
    return runGemm(this.backend, "float64", a, aDims, transA, b, bDims, transB, new Float64Array(rows * cols));
  };

  /** Loss (and ∂/∂X̂) of EASE fitted on `support`, scoring the dense batch. */
  async objective(
    support: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: EaseInnerConfig,
    wantGradient = true,
  ): Promise<EaseInnerResult> {
    checkInputs("FastEaseInner.objective", support, mu, items, batch.rows, cfg);
    if (batch.data.length !== batch.rows * items) throw new Error(`FastEaseInner.objective: batch has ${batch.data.length} values, expected ${batch.rows}×${items}`);
    const dots = await runGemm(this.backend, "float64", support, [mu, items], false, support, [mu, items], true, new Float64Array(mu * mu));
    const aInv = await spdInverseGemm(this.backend, addRidge(dots, mu, cfg.lambda), mu);
    const m = await runGemm(this.backend, "float64", aInv, [mu, mu], false, support, [mu, items], false, new Float64Array(mu * items));
    const e = diagonalFactors(support, m, mu, items);
    const m32 = Float32Array.from(m);

    let reconstruction = 0;
    const dSupport = wantGradient ? new Float64Array(mu * items) : null;
    const dMBatch = wantGradient ? new Float64Array(mu * items) : null;
    const de = new Float64Array(items);
    const scratch = wantGradient ? new Float32Array(mu * items) : null;
    const block = Math.max(1, Math.min(cfg.batchBlock, batch.rows));
    for (let start = 0; start < batch.rows; start += block) {
      const end = Math.min(batch.rows, start + block);
      const rows = end - start;
      const xB32 = batch.data.subarray(start * items, end * items);
      const xB = Float64Array.from(xB32);
      const c = await runGemm(this.backend, "float64", xB, [rows, items], false, support, [mu, items], true, new Float64Array(rows * mu));
      // E = X_B − C·M, written over C·M.
      const eMat = await runGemm(this.backend, "float64", c, [rows, mu], false, m, [mu, items], false, new Float64Array(rows * items));
      const q = new Float32Array(rows * items);
      for (let u = 0; u < rows; u++) {
        for (let i = 0; i < items; i++) {
          const p = u * items + i;
          eMat[p] = xB[p] - eMat[p];
          q[p] = xB[p] - eMat[p] / e[i];
        }
      }
      let dQ: Float32Array | null = null;
      if (cfg.loss === "softmax") {
        reconstruction += softmaxLossInPlace(q, xB32, rows, items, batch.rows, wantGradient);
        dQ = wantGradient ? q : null;
      } else {
        const d64 = wantGradient ? new Float64Array(rows * items) : undefined;
        reconstruction += reconstructionLoss(Float64Array.from(q), xB, rows, items, cfg.loss, batch.rows, d64);
        dQ = d64 ? Float32Array.from(d64) : null;
      }
      if (!dSupport || !dMBatch || !scratch || !dQ) continue;
      // dE = −dQ/e (over dQ), de_i += Σ_u dQ_ui·E_ui/e_i².
      for (let u = 0; u < rows; u++) {
        for (let i = 0; i < items; i++) {
          const p = u * items + i;
          de[i] += (dQ[p] * eMat[p]) / (e[i] * e[i]);
          dQ[p] = -dQ[p] / e[i];
        }
      }
      const dE = dQ;
      const dC = await runGemm(this.backend, "float32", dE, [rows, items], false, m32, [mu, items], true, new Float32Array(rows * mu));
      // dS += dCᵀ·X_B with dC = −dE·Mᵀ.
      await runGemm(this.backend, "float32", dC, [rows, mu], true, xB32, [rows, items], false, scratch);
      for (let p = 0; p < scratch.length; p++) dSupport[p] -= scratch[p];
      await runGemm(this.backend, "float32", Float32Array.from(c), [rows, mu], true, dE, [rows, items], false, scratch);
      for (let p = 0; p < scratch.length; p++) dMBatch[p] += scratch[p];
    }
    const penalty = cardinalityPenalty(support, mu, cfg.lambda2, cfg.interactionsPerUser);
    if (dSupport && dMBatch) await supportBackward(this.product, support, m, aInv, mu, items, dMBatch, de, dSupport, penalty.gradient);
    return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport };
  }
}
