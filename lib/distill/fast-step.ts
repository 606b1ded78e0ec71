/**
 * DISTILL-CF's loss and gradient in logits, fast: the same function as
 * objective.ts's `distillObjective` (see there for the stage equations), laid
 * out for big problems (ML-1M: μ = 500, I = 3706, batch = 6040 users).
 *
 * Precision split:
 * - batch-sized products run as float32 ONNX Runtime Gemms:
 *     dots_BS = X_B·X̂ᵀ, P = K_BS·α, dα = K_BSᵀ·dP, dK_BS = dP·αᵀ, dX̂ += Gᵀ·X_B
 *   (≈ 5 × 2·B·μ·I flops, 110 GFLOP per ML-1M step);
 * - the μ-sized inner solve stays float64: K(X̂, X̂)'s dots, A⁻¹ (Cholesky in
 *   TS, explicit inverse), α = A⁻¹X̂ and the solve backward (W = A⁻¹dα,
 *   dA = −Wαᵀ, (G_SS + G_SSᵀ)·X̂) as float64 ORT Gemms;
 * - per-entry NTK values and partials (ntk-grad.ts's `ntkGramPartials`) and the
 *   softmax loss in TS (float64 arithmetic on float32 storage);
 * - Gumbel sampling in fast-sample.ts (float64, table-based noise).
 *
 * The diagonal of K(X̂, X̂) must see q/n = 1 exactly (ntk-grad.ts): the row
 * norms of X̂ are taken from the same Gemm's diagonal, not summed separately.
 */
import type { Backend, Session } from "../onnx/backend.ts";
import { gemmKey, gemmSpec, type GemmDType } from "../onnx/graphs/gemm.ts";
import { ntkGramPartials } from "../ntk/ntk-grad.ts";
import { spdInverse } from "../linalg/cholesky.ts";
import { cardinalityPenalty, reconstructionLoss, type ReconstructionLoss } from "./loss.ts";
import type { FastSampleConfig, FastSampled } from "./fast-sample.ts";
import { SamplingPool } from "./sample-pool.ts";

/** Real users as dense float32 rows (binary), with Σx² per row. */
export interface DenseBatch {
  rows: number;
  data: Float32Array;
  norms: Float64Array;
}

export function denseBatch(data: Float32Array, rows: number, items: number): DenseBatch {
  if (data.length !== rows * items) throw new Error(`denseBatch: ${data.length} values, expected ${rows}×${items}`);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * items; i < (r + 1) * items; i++) s += data[i] * data[i];
    norms[r] = s;
  }
  return { rows, data, norms };
}

export interface FastStepConfig {
  gamma: number;
  tau: number;
  seed: number;
  /** Outer step (noise stream). */
  step: number;
  lambda: number;
  lambda2: number;
  interactionsPerUser: number;
  depth: number;
  loss: ReconstructionLoss;
  /** Users per block in the batch stage (bounds memory: ~ 2·block·I floats). */
  batchBlock: number;
  /** The official key-splitting quirk (sample 1 repeats sample 0). */
  duplicateFirstSample?: boolean;
}

/** Seconds per stage of one step. */
export interface StepTimings {
  sampling: number;
  gram: number;
  solve: number;
  loss: number;
  backward: number;
  samplingBackward: number;
}

export interface FastStepResult {
  loss: number;
  reconstruction: number;
  penalty: number;
  support: Float64Array;
  /** ∂loss/∂X̂ (μ × I), when the gradient was asked for. */
  dSupport: Float64Array | null;
  /** ∂loss/∂L (μ × I), when the gradient was asked for. */
  dLogits: Float64Array | null;
  timings: StepTimings;
}

/**
 * The "softmax" loss of loss.ts on float32 scores, Σ_rows (lse(P_u)·Σ_i X_ui −
 * Σ_i X_ui P_ui) / normaliser, accumulated in float64; with `writeGradient`
 * P is overwritten by ∂/∂P = (softmax(P_u)·Σ_i X_ui − X_u) / normaliser.
 */
export function softmaxLossInPlace(
  p: Float32Array,
  x: Float32Array,
  rows: number,
  items: number,
  normaliser: number,
  writeGradient: boolean,
): number {
  if (p.length < rows * items || x.length < rows * items) throw new Error(`softmaxLossInPlace: need ${rows}×${items} scores and targets`);
  if (!(normaliser > 0)) throw new Error(`softmaxLossInPlace: normaliser must be > 0, got ${normaliser}`);
  const inv = 1 / normaliser;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * items;
    let max = -Infinity;
    for (let i = 0; i < items; i++) if (p[base + i] > max) max = p[base + i];
    let sumExp = 0;
    let sumX = 0;
    let dotXP = 0;
    for (let i = 0; i < items; i++) {
      const v = p[base + i];
      sumExp += Math.exp(v - max);
      const t = x[base + i];
      sumX += t;
      dotXP += t * v;
    }
    const lse = max + Math.log(sumExp);
    total += lse * sumX - dotXP;
    if (writeGradient) {
      for (let i = 0; i < items; i++) p[base + i] = (Math.exp(p[base + i] - lse) * sumX - x[base + i]) * inv;
    }
  }
  return total * inv;
}

/** Inverse of an SPD matrix (n × n), float64, made exactly symmetric. */
function symmetricInverse(a: Float64Array, n: number): Float64Array {
  const inv = spdInverse(a, n);
  // Symmetrise away rounding so α = A⁻¹X̂ sees an exactly symmetric operator.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (inv[i * n + j] + inv[j * n + i]);
      inv[i * n + j] = v;
      inv[j * n + i] = v;
    }
  }
  return inv;
}

function toF32(a: Float64Array): Float32Array {
  return Float32Array.from(a);
}

/**
 * One DISTILL-CF step's loss and gradient on a backend. Sessions are created
 * once and reused; one instance per backend.
 */
export interface FastEngineOptions {
  /** Worker threads for Gumbel sampling (default 2; 0 = this thread). */
  samplingWorkers?: number;
  /**
   * Keep the forward's noise E_k (γ·μ·I float32; ML-1M: 1.48 GB) for the
   * backward instead of regenerating it, when it needs at most this many
   * bytes (default 2 GiB; 0 = always regenerate, memory O(μ·I)).
   */
  storeNoiseBytes?: number;
}

export const DEFAULT_STORE_NOISE_BYTES = 2 ** 31;

export class FastDistillEngine {
  private readonly sessions = new Map<string, Promise<Session>>();
  readonly sampling: SamplingPool;

  constructor(readonly backend: Backend, options: FastEngineOptions = {}) {
    this.sampling = new SamplingPool(options.samplingWorkers ?? 2, options.storeNoiseBytes ?? DEFAULT_STORE_NOISE_BYTES);
  }

  /** Stops the sampling workers. */
  async close(): Promise<void> {
    await this.sampling.close();
  }

  private async gemm<T extends Float32Array | Float64Array>(
    dtype: GemmDType,
    a: T,
    aDims: readonly [number, number],
    transA: boolean,
    b: T,
    bDims: readonly [number, number],
    transB: boolean,
    out: T,
  ): Promise<T> {
    const key = gemmKey(dtype, transA, transB);
    let s = this.sessions.get(key);
    if (!s) {
      s = this.backend.session(gemmSpec(dtype, transA, transB));
      this.sessions.set(key, s);
    }
    const m = transA ? aDims[1] : aDims[0];
    const n = transB ? bDims[0] : bDims[1];
    if (out.length !== m * n) throw new Error(`FastDistillEngine.gemm: output holds ${out.length} values, need ${m}×${n}`);
    await this.backend.run(await s, { A: { data: a, dims: aDims }, B: { data: b, dims: bDims } }, { Y: { data: out, dims: [m, n] } });
    return out;
  }

  /** Loss (and gradients) of the support X̂ itself; `timings` gets gram/solve/loss/backward. */
  async supportObjective(
    support: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    wantGradient: boolean,
    timings: StepTimings,
  ): Promise<{ loss: number; reconstruction: number; penalty: number; dSupport: Float64Array | null }> {
    if (support.length !== mu * items) throw new Error(`fastSupportObjective: support has ${support.length} values, expected ${mu}×${items}`);
    if (batch.data.length !== batch.rows * items) throw new Error(`fastSupportObjective: batch has ${batch.data.length} values, expected ${batch.rows}×${items}`);
    if (batch.rows < 1) throw new Error("fastSupportObjective: the batch has no users");
    if (!(cfg.lambda >= 0) || !Number.isFinite(cfg.lambda)) throw new Error(`fastSupportObjective: lambda must be a finite number ≥ 0, got ${cfg.lambda}`);
    const { depth } = cfg;
    let t = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const dt = (now - t) / 1000;
      t = now;
      return dt;
    };

    // K(X̂, X̂) in float64; the norms are the Gemm's own diagonal.
    const dotsSS = await this.gemm("float64", support, [mu, items], false, support, [mu, items], true, new Float64Array(mu * mu));
    const normsS = new Float64Array(mu);
    for (let i = 0; i < mu; i++) normsS[i] = dotsSS[i * mu + i];
    const ss = ntkGramPartials(dotsSS, mu, mu, normsS, normsS, items, depth, true, wantGradient);
    const kSS = ss.k as Float64Array;
    timings.gram += lap();

    // A = sym(K_SS) + c·I, α = A⁻¹X̂.
    let trace = 0;
    for (let i = 0; i < mu; i++) trace += kSS[i * mu + i];
    const ridge = (cfg.lambda * trace) / mu;
    const a = new Float64Array(mu * mu);
    for (let i = 0; i < mu; i++) {
      for (let j = 0; j < mu; j++) a[i * mu + j] = 0.5 * (kSS[i * mu + j] + kSS[j * mu + i]);
      a[i * mu + i] += ridge;
    }
    const aInv = symmetricInverse(a, mu);
    const alpha = await this.gemm("float64", aInv, [mu, mu], false, support, [mu, items], false, new Float64Array(mu * items));
    const alpha32 = toF32(alpha);
    const support32 = toF32(support);
    timings.solve += lap();

    // Batch stage, in blocks of users.
    let reconstruction = 0;
    const dAlpha = wantGradient ? new Float64Array(mu * items) : null;
    const dSupport = wantGradient ? new Float64Array(mu * items) : null;
    const gradNormB = wantGradient ? new Float64Array(mu) : null;
    const block = Math.max(1, Math.min(cfg.batchBlock, batch.rows));
    const scores = new Float32Array(block * items);
    const muItems32 = wantGradient ? new Float32Array(mu * items) : null;
    for (let start = 0; start < batch.rows; start += block) {
      const end = Math.min(batch.rows, start + block);
      const rows = end - start;
      const xB = batch.data.subarray(start * items, end * items);
      const dotsBS = await this.gemm("float32", xB, [rows, items], false, support32, [mu, items], true, new Float32Array(rows * mu));
      const bs = ntkGramPartials(dotsBS, rows, mu, batch.norms.subarray(start, end), normsS, items, depth, false, false);
      const kBS = bs.k as Float32Array;
      timings.gram += lap();
      const p = scores.subarray(0, rows * items);
      await this.gemm("float32", kBS, [rows, mu], false, alpha32, [mu, items], false, p);
      timings.loss += lap();
      let dP32: Float32Array | null = null;
      if (cfg.loss === "softmax") {
        // Float32 in place: P becomes dP (no float64 copies of rows × I).
        reconstruction += softmaxLossInPlace(p, xB, rows, items, batch.rows, wantGradient);
        dP32 = wantGradient ? p : null;
      } else {
        const dP = wantGradient ? new Float64Array(rows * items) : undefined;
        reconstruction += reconstructionLoss(Float64Array.from(p), Float64Array.from(xB), rows, items, cfg.loss, batch.rows, dP);
        dP32 = dP ? Float32Array.from(dP) : null;
      }
      timings.loss += lap();
      if (!dAlpha || !dSupport || !gradNormB || !dP32 || !muItems32) continue;
      // dα += K_BSᵀ·dP
      await this.gemm("float32", kBS, [rows, mu], true, dP32, [rows, items], false, muItems32);
      for (let q = 0; q < muItems32.length; q++) dAlpha[q] += muItems32[q];
      // dK_BS = dP·αᵀ, then G = dK ⊙ f_xy and g_j = Σ_i dK_ij f_yy.
      const dK = await this.gemm("float32", dP32, [rows, items], false, alpha32, [mu, items], true, new Float32Array(rows * mu));
      const fxy = bs.fxy;
      const fyy = bs.fyy;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < mu; j++) {
          const q = i * mu + j;
          gradNormB[j] += dK[q] * fyy[q];
          dK[q] = dK[q] * fxy[q];
        }
      }
      // dX̂ += Gᵀ·X_B
      await this.gemm("float32", dK, [rows, mu], true, xB, [rows, items], false, muItems32);
      for (let q = 0; q < muItems32.length; q++) dSupport[q] += muItems32[q];
      timings.backward += lap();
    }
    const penalty = cardinalityPenalty(support, mu, cfg.lambda2, cfg.interactionsPerUser);
    if (!dAlpha || !dSupport || !gradNormB) {
      return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport: null };
    }
    for (let j = 0; j < mu; j++) {
      const g2 = 2 * gradNormB[j];
      for (let i = j * items; i < (j + 1) * items; i++) dSupport[i] += g2 * support[i];
    }

    // Solve backward: W = A⁻¹dα, dX̂ += W, dA = −Wαᵀ, dK_SS = sym(dA) + (λ/μ)·tr(dA)·I.
    const w = await this.gemm("float64", aInv, [mu, mu], false, dAlpha, [mu, items], false, new Float64Array(mu * items));
    for (let q = 0; q < w.length; q++) dSupport[q] += w[q];
    const wAlphaT = await this.gemm("float64", w, [mu, items], false, alpha, [mu, items], true, new Float64Array(mu * mu));
    let traceDA = 0;
    for (let i = 0; i < mu; i++) traceDA -= wAlphaT[i * mu + i];
    const dKss = new Float64Array(mu * mu);
    for (let i = 0; i < mu; i++) {
      for (let j = 0; j < mu; j++) dKss[i * mu + j] = -0.5 * (wAlphaT[i * mu + j] + wAlphaT[j * mu + i]);
      dKss[i * mu + i] += (cfg.lambda / mu) * traceDA;
    }
    timings.solve += lap();

    // Gram backward of K(X̂, X̂), both arguments: (G + Gᵀ)·X̂ + 2·diag(h + g)·X̂.
    const gSS = new Float64Array(mu * mu);
    const hg = new Float64Array(mu);
    const fxxSS = ss.fxx;
    if (!fxxSS) throw new Error("fastSupportObjective: missing K_SS partials");
    for (let i = 0; i < mu; i++) {
      for (let j = 0; j < mu; j++) {
        const q = i * mu + j;
        const up = dKss[q];
        gSS[q] += up * ss.fxy[q];
        gSS[j * mu + i] += up * ss.fxy[q];
        hg[i] += up * fxxSS[q];
        hg[j] += up * ss.fyy[q];
      }
    }
    const gx = await this.gemm("float64", gSS, [mu, mu], false, support, [mu, items], false, new Float64Array(mu * items));
    const pen = penalty.gradient;
    for (let j = 0; j < mu; j++) {
      const h2 = 2 * hg[j];
      for (let i = j * items; i < (j + 1) * items; i++) dSupport[i] += gx[i] + h2 * support[i] + pen;
    }
    timings.backward += lap();
    return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport };
  }

  /** X̂ for the logits and the noise of `cfg.step` (no loss). */
  async sampleSupport(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): Promise<Float64Array> {
    return Float64Array.from((await this.sampling.sample(logits, mu, items, cfg)).support);
  }

  /**
   * Loss (and gradient) in the logits L for the noise of `cfg.step`.
   * `onSample` sees X̂ before the loss is computed; returning false cancels
   * the step (the result is then null).
   */
  async step(
    logits: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    wantGradient = true,
    onSample?: (support: Float64Array) => Promise<boolean | void>,
  ): Promise<FastStepResult | null> {
    const timings: StepTimings = { sampling: 0, gram: 0, solve: 0, loss: 0, backward: 0, samplingBackward: 0 };
    const sampleCfg: FastSampleConfig = { gamma: cfg.gamma, tau: cfg.tau, seed: cfg.seed, step: cfg.step, duplicateFirstSample: cfg.duplicateFirstSample };
    let t = performance.now();
    const sampled: FastSampled = await this.sampling.sample(logits, mu, items, sampleCfg);
    const support = Float64Array.from(sampled.support);
    timings.sampling = (performance.now() - t) / 1000;
    // E.g. validation of X̂ = sample(L, stream t): the candidate the previous step produced.
    if (onSample && (await onSample(support)) === false) return null;
    const inner = await this.supportObjective(support, mu, items, batch, cfg, wantGradient, timings);
    let dLogits: Float64Array | null = null;
    if (inner.dSupport) {
      t = performance.now();
      dLogits = await this.sampling.backward(mu, items, sampleCfg, inner.dSupport);
      timings.samplingBackward = (performance.now() - t) / 1000;
    }
    return { ...inner, support, dLogits, timings };
  }
}
