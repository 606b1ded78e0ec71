/**
 * Stage 1 of DISTILL-CF: multi-step Gumbel sampling of the support set.
 *
 * Forward: S = Σ_{k<γ} softmax_items((L + G_k)/τ), X̂ = hardtanh(S) = clip(S, −1, 1)
 * (S ≥ 0, so effectively min(S, 1)).
 *
 * Backward: dS = dX̂ where −1 ≤ S ≤ 1 and 0 where hardtanh clipped (JAX's
 * hard_tanh passes the gradient at exactly ±1). For each sample k, with
 * s = softmax(z), z = (L + G_k)/τ, the softmax Jacobian gives per row
 *   dz = s ⊙ (dS − ⟨dS, s⟩),  dL += dz / τ.
 * G_k is regenerated from its counter (rng.ts) instead of stored, so memory is
 * O(μ·I) for any γ.
 */
import { fillGumbel } from "./rng.ts";

/** Writes G_k (μ·I values, row-major) into `out`; must be deterministic in k. */
export type GumbelSource = (sample: number, out: Float64Array) => void;

/**
 * The noise of one outer step from the counter-based RNG. With
 * `duplicateFirstSample` (the official code's key-splitting quirk) sample 1
 * repeats sample 0 and sample k ≥ 1 uses noise k − 1, so X̂ holds the first
 * sample twice.
 */
export function stepNoise(seed: number, step: number, duplicateFirstSample = false): GumbelSource {
  return (sample, out) => {
    fillGumbel(seed, step, duplicateFirstSample ? Math.max(0, sample - 1) : sample, out);
  };
}

export interface SampleConfig {
  /** Number of Gumbel samples per synthetic user (γ). */
  gamma: number;
  /** Softmax temperature (τ). */
  tau: number;
}

export interface SampledSupport {
  /** X̂ = hardtanh(S), μ × I. */
  support: Float64Array;
  /** S before hardtanh (kept for the backward mask). */
  summed: Float64Array;
}

function checkConfig(logits: Float64Array, mu: number, items: number, cfg: SampleConfig): void {
  if (logits.length !== mu * items) throw new Error(`sampleSupport: logits have ${logits.length} values, expected ${mu}×${items}`);
  if (!Number.isInteger(cfg.gamma) || cfg.gamma < 1) throw new Error(`sampleSupport: gamma must be an integer ≥ 1, got ${cfg.gamma}`);
  if (!(cfg.tau > 0)) throw new Error(`sampleSupport: tau must be > 0, got ${cfg.tau}`);
}

/** softmax of each row of (L + G)/τ, written into `z` (which holds G on entry). */
function softmaxRowsInPlace(logits: Float64Array, z: Float64Array, mu: number, items: number, tau: number): void {
  const invTau = 1 / tau;
  for (let r = 0; r < mu; r++) {
    const base = r * items;
    let max = -Infinity;
    for (let i = 0; i < items; i++) {
      const v = (logits[base + i] + z[base + i]) * invTau;
      z[base + i] = v;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let i = 0; i < items; i++) {
      const e = Math.exp(z[base + i] - max);
      z[base + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < items; i++) z[base + i] *= inv;
  }
}

export function sampleSupport(
  logits: Float64Array,
  mu: number,
  items: number,
  cfg: SampleConfig,
  noise: GumbelSource,
): SampledSupport {
  checkConfig(logits, mu, items, cfg);
  const n = mu * items;
  const summed = new Float64Array(n);
  const buf = new Float64Array(n);
  for (let k = 0; k < cfg.gamma; k++) {
    noise(k, buf);
    softmaxRowsInPlace(logits, buf, mu, items, cfg.tau);
    for (let p = 0; p < n; p++) summed[p] += buf[p];
  }
  const support = new Float64Array(n);
  for (let p = 0; p < n; p++) support[p] = Math.min(1, Math.max(-1, summed[p]));
  return { support, summed };
}

/** dL (μ × I) from dX̂, regenerating every sample's softmax. */
export function sampleSupportBackward(
  logits: Float64Array,
  mu: number,
  items: number,
  cfg: SampleConfig,
  noise: GumbelSource,
  summed: Float64Array,
  dSupport: Float64Array,
): Float64Array {
  checkConfig(logits, mu, items, cfg);
  const n = mu * items;
  if (summed.length !== n || dSupport.length !== n) throw new Error(`sampleSupportBackward: summed/dSupport must hold ${mu}×${items} values`);
  const dSummed = new Float64Array(n);
  for (let p = 0; p < n; p++) dSummed[p] = summed[p] >= -1 && summed[p] <= 1 ? dSupport[p] : 0;
  const dLogits = new Float64Array(n);
  const buf = new Float64Array(n);
  const invTau = 1 / cfg.tau;
  for (let k = 0; k < cfg.gamma; k++) {
    noise(k, buf);
    softmaxRowsInPlace(logits, buf, mu, items, cfg.tau);
    for (let r = 0; r < mu; r++) {
      const base = r * items;
      let dot = 0;
      for (let i = 0; i < items; i++) dot += dSummed[base + i] * buf[base + i];
      for (let i = 0; i < items; i++) dLogits[base + i] += buf[base + i] * (dSummed[base + i] - dot) * invTau;
    }
  }
  return dLogits;
}
