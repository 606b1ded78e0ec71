/**
 * Fast multi-step Gumbel sampling for DISTILL-CF (the same maths as
 * sample.ts, organised so the γ·μ·I noise values are cheap).
 *
 * Forward. With z_k = (L + G_k)/τ and a per-row shift m = max_i L_i/τ,
 *   softmax(z_k) = w ⊙ E_k / Z_k,  w = exp(L/τ − m),  E_k = exp(G_k/τ),
 *   Z_k = ⟨w, E_k⟩ (one scalar per row and sample).
 * For standard Gumbel G = −log(−log u), E = (−log u)^(−1/τ) = F(u). So
 *   S = w ⊙ Σ_k E_k / Z_k,  X̂ = hardtanh(S),
 * and only Z (μ × γ scalars) is recorded for the backward.
 *
 * Backward (dS = dX̂ masked where hardtanh clipped). The softmax Jacobian,
 * summed over samples, gives
 *   dL = (1/τ)·[dS ⊙ S − w ⊙ Σ_k (c_k / Z_k)·E_k],  c_k = ⟨dS ⊙ w, E_k⟩ / Z_k,
 * so each E_k is regenerated once more (from its counter), never stored.
 *
 * Noise. u comes from a counter-based 32-bit hash of (seed, step, sample, entry):
 * two rounds of the "lowbias32" integer mixer (Wellons) keyed per
 * (seed, step, sample) by Threefry (rng.ts). F(u) is read from a table with
 * linear interpolation in the top 16 bits of u; buckets where the interpolation
 * error could exceed `TABLE_TOLERANCE` (relative; the tails u → 0 and u → 1,
 * where F is steep) are marked and computed exactly with Math.log/Math.exp. The
 * values are therefore F(u) for a 32-bit uniform u to ≤ 1e-7 relative — below
 * float32 resolution — not an approximation of the distribution.
 *
 * Where WebAssembly SIMD is available (Node, Deno, Bun, browsers) the per-row
 * loops run on noise-kernel.ts: the same E values bit for bit, Z_k and the
 * sums in float64x2 (≤ 1e-13 relative to the loops below, which remain the
 * fallback and the reference; a null `kernel` selects them). On ML-1M (2
 * workers, the float32 store in a shared WebAssembly memory written and read
 * in place) the forward went from 2.85 to 0.91 s per step, the backward from
 * 0.74 to 0.18 s.
 *
 * The noise is a different stream from rng.ts's Threefry-per-entry `fillGumbel`
 * (which stays the float64 reference's source); `fastGumbelSource` exposes this
 * one as a `GumbelSource` so the reference can be run on identical noise.
 */
import { threefry2x32 } from "./rng.ts";
import type { GumbelSource } from "./sample.ts";
import { NoiseKernel } from "./noise-kernel.ts";

let threadKernel: NoiseKernel | null | undefined;

/** This thread's WebAssembly noise kernel (null where WebAssembly SIMD is missing). */
export function noiseKernel(): NoiseKernel | null {
  if (threadKernel === undefined) threadKernel = NoiseKernel.create();
  return threadKernel;
}

/** Max relative error of a table bucket before it falls back to exact evaluation. */
export const TABLE_TOLERANCE = 1e-7;
const TABLE_BITS = 16;
const BUCKETS = 1 << TABLE_BITS;
const INV_2_32 = 2.3283064365386963e-10;

/** Bijective 32-bit mixer (lowbias32, C. Wellons). */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Two 32-bit keys for (seed, step, sample), from Threefry so nearby counters decorrelate. */
export function sampleKeys(seed: number, step: number, sample: number): Uint32Array {
  const out = new Uint32Array(2);
  threefry2x32(seed >>> 0, (0x40000000 + step) >>> 0, sample >>> 0, 0x5eed, out);
  return out;
}

/** The 32-bit random word of entry `index` under keys (k0, k1). */
export function noiseWord(k0: number, k1: number, index: number): number {
  return mix32((mix32((index ^ k0) >>> 0) + k1) >>> 0);
}

/** F(u) = (−log u)^(−1/τ) = exp(G/τ) for G = −log(−log u). */
function exactE(u: number, invTau: number): number {
  return Math.exp(-invTau * Math.log(-Math.log(u)));
}

/**
 * Interpolation table for F at one τ. Buckets j ∈ [lo, hi] interpolate; the
 * tails outside (where F is steep) are computed exactly. The interpolation
 * error grows monotonically toward both ends, so the exact buckets are the two
 * contiguous tails and one comparison per entry decides.
 */
export interface NoiseTable {
  tau: number;
  /** Interleaved (F(j/2^16), F((j+1)/2^16) − F(j/2^16)) per bucket j. */
  coef: Float64Array;
  /** First and last interpolated bucket. */
  lo: number;
  hi: number;
  /** Share of buckets computed exactly. */
  exactShare: number;
  /** Worst relative interpolation error found over the interpolated buckets. */
  worstError: number;
}

const tables = new Map<number, NoiseTable>();

function bucketError(j: number, invTau: number): number {
  const lo = j / BUCKETS;
  const f0 = exactE(lo, invTau);
  const f1 = exactE((j + 1) / BUCKETS, invTau);
  let worst = 0;
  for (const t of [0.25, 0.5, 0.75]) {
    const fe = exactE(lo + t / BUCKETS, invTau);
    worst = Math.max(worst, Math.abs(f0 + t * (f1 - f0) - fe) / fe);
  }
  return worst;
}

/** The (cached) table for τ. */
export function noiseTable(tau: number): NoiseTable {
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`noiseTable: tau must be a finite number > 0, got ${tau}`);
  const cached = tables.get(tau);
  if (cached) return cached;
  const invTau = 1 / tau;
  const errors = new Float64Array(BUCKETS).fill(Infinity);
  for (let j = 1; j < BUCKETS - 1; j++) errors[j] = bucketError(j, invTau);
  // Widest contiguous middle range within tolerance, grown outward from the best bucket.
  let centre = 1;
  for (let j = 1; j < BUCKETS - 1; j++) if (errors[j] < errors[centre]) centre = j;
  let lo = centre;
  let hi = centre;
  while (lo - 1 >= 1 && errors[lo - 1] <= TABLE_TOLERANCE) lo--;
  while (hi + 1 <= BUCKETS - 2 && errors[hi + 1] <= TABLE_TOLERANCE) hi++;
  if (!(errors[centre] <= TABLE_TOLERANCE)) {
    lo = BUCKETS;
    hi = -1;
  }
  const coef = new Float64Array(2 * BUCKETS);
  let worst = 0;
  for (let j = Math.max(lo, 0); j <= hi; j++) {
    const f0 = exactE(j / BUCKETS, invTau);
    coef[2 * j] = f0;
    coef[2 * j + 1] = exactE((j + 1) / BUCKETS, invTau) - f0;
    worst = Math.max(worst, errors[j]);
  }
  const interpolated = Math.max(0, hi - lo + 1);
  const table: NoiseTable = { tau, coef, lo, hi, exactShare: 1 - interpolated / BUCKETS, worstError: worst };
  tables.set(tau, table);
  return table;
}

/** E = F(u) for the 32-bit word h, u = (h + 0.5)/2^32. */
export function wordToE(h: number, table: NoiseTable): number {
  const j = h >>> TABLE_BITS;
  if (j < table.lo || j > table.hi) return exactE((h + 0.5) * INV_2_32, 1 / table.tau);
  return table.coef[2 * j] + table.coef[2 * j + 1] * (((h & 0xffff) + 0.5) * (1 / 65536));
}

/**
 * Fills `out` (n entries from entry `offset`) with E_k = exp(G_k/τ) of the
 * sample keyed (k0, k1); returns ⟨w[wOffset…], E⟩ (w may be null: returns 0).
 */
function fillE(
  out: Float64Array | Float32Array,
  n: number,
  offset: number,
  k0: number,
  k1: number,
  table: NoiseTable,
  invTau: number,
  w: Float64Array | null,
  wOffset: number,
): number {
  const { coef, lo, hi } = table;
  let dot = 0;
  for (let i = 0; i < n; i++) {
    const idx = offset + i;
    let x = (idx ^ k0) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    x = (x + k1) | 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    const h = x >>> 0;
    const j = h >>> 16;
    const e =
      j < lo || j > hi
        ? Math.exp(-invTau * Math.log(-Math.log((h + 0.5) * INV_2_32)))
        : coef[2 * j] + coef[2 * j + 1] * (((h & 0xffff) + 0.5) * (1 / 65536));
    out[i] = e;
    if (w !== null) dot += w[wOffset + i] * e;
  }
  return dot;
}

/**
 * The fast noise as a `GumbelSource` for sample.ts: G_k = τ·log E_k, exactly
 * the noise the fast path uses (up to the table's ≤ 1e-7 relative error in E).
 */
export function fastGumbelSource(seed: number, step: number, tau: number): GumbelSource {
  const table = noiseTable(tau);
  return (sample, out) => {
    const keys = sampleKeys(seed, step, sample);
    fillE(out, out.length, 0, keys[0], keys[1], table, 1 / tau, null, 0);
    for (let p = 0; p < out.length; p++) out[p] = tau * Math.log(out[p]);
  };
}

export interface FastSampleConfig {
  gamma: number;
  tau: number;
  seed: number;
  /** Outer step: selects the noise stream. */
  step: number;
  /** Reproduce the official key-splitting quirk: sample 1 repeats sample 0. */
  duplicateFirstSample?: boolean;
}

function checkFast(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): void {
  if (logits.length !== mu * items) throw new Error(`fastSample: logits have ${logits.length} values, expected ${mu}×${items}`);
  if (!Number.isInteger(cfg.gamma) || cfg.gamma < 1) throw new Error(`fastSample: gamma must be an integer ≥ 1, got ${cfg.gamma}`);
  if (!(cfg.tau > 0)) throw new Error(`fastSample: tau must be > 0, got ${cfg.tau}`);
  if (mu * items > 0x7fffffff) throw new Error(`fastSample: ${mu}×${items} entries exceed the 2^31 counter space`);
}

function rowWeights(logits: Float64Array, r: number, items: number, invTau: number, w: Float64Array): void {
  const base = r * items;
  let max = -Infinity;
  for (let i = 0; i < items; i++) if (logits[base + i] > max) max = logits[base + i];
  for (let i = 0; i < items; i++) w[base + i] = Math.exp((logits[base + i] - max) * invTau);
}

/** Row r's S = w ⊙ Σ_k E_k/Z_k (from the running sum) and X̂ = hardtanh(S). */
function rowSupport(weights: Float64Array, acc: Float64Array, base: number, items: number, summed: Float64Array, support: Float64Array): void {
  for (let i = 0; i < items; i++) {
    const s = weights[base + i] * acc[i];
    summed[base + i] = s;
    support[base + i] = Math.min(1, Math.max(-1, s));
  }
}

/** Row r's dS (dX̂ where hardtanh passed it) into `ds`, and dS ⊙ w into `v`. */
function clippedRowGradient(summed: Float64Array, weights: Float64Array, dSupport: Float64Array, base: number, items: number, ds: Float64Array, v: Float64Array): void {
  for (let i = 0; i < items; i++) {
    const s = summed[base + i];
    // hardtanh passes the gradient on [−1, 1] (JAX's convention at ±1).
    ds[i] = s >= -1 && s <= 1 ? dSupport[base + i] : 0;
    v[i] = ds[i] * weights[base + i];
  }
}

/** Row r's dL = (1/τ)·[dS ⊙ S − w ⊙ Σ_k (c_k/Z_k)·E_k] from the running sum `acc`. */
function rowLogitGradient(summed: Float64Array, weights: Float64Array, ds: Float64Array, acc: Float64Array, base: number, items: number, invTau: number, out: Float64Array): void {
  for (let i = 0; i < items; i++) out[base + i] = invTau * (ds[i] * summed[base + i] - weights[base + i] * acc[i]);
}

/** Buffers of a forward sample; typed-array views (shared memory works). */
export interface FastSampled {
  /** X̂ = hardtanh(S), μ × I. */
  support: Float64Array;
  /** S, μ × I. */
  summed: Float64Array;
  /** w = exp(L/τ − rowmax), μ × I. */
  weights: Float64Array;
  /** Z_k per row: μ × γ, row-major (row r, sample k at r·γ + k). */
  partition: Float64Array;
}

/** The per-sample keys of one step (sample → key pair), honouring the duplicate-sample quirk. */
function stepKeys(cfg: FastSampleConfig): Uint32Array[] {
  const keys: Uint32Array[] = [];
  for (let k = 0; k < cfg.gamma; k++) keys.push(sampleKeys(cfg.seed, cfg.step, cfg.duplicateFirstSample ? Math.max(0, k - 1) : k));
  return keys;
}

/** Forward sampling of rows [r0, r1) into `out` (which holds all μ rows). */
/**
 * `noiseStore` (optional, γ·μ·I float32, row r's sample k at (r·γ + k)·I)
 * receives E_k so the backward reads it instead of regenerating; the forward
 * then uses the float32-rounded E too, so both passes see the same values.
 */
export function fastSampleRows(
  logits: Float64Array,
  mu: number,
  items: number,
  cfg: FastSampleConfig,
  out: FastSampled,
  r0: number,
  r1: number,
  noiseStore: Float32Array | null = null,
  kernel: NoiseKernel | null = noiseKernel(),
): void {
  checkFast(logits, mu, items, cfg);
  if (kernel) {
    kernelSampleRows(kernel, logits, items, cfg, out, r0, r1, noiseStore);
    return;
  }
  const { gamma, tau } = cfg;
  const invTau = 1 / tau;
  const table = noiseTable(tau);
  const { weights, summed, partition, support } = out;
  const e = new Float64Array(items);
  const acc = new Float64Array(items);
  const keys = stepKeys(cfg);
  for (let r = r0; r < r1; r++) {
    rowWeights(logits, r, items, invTau, weights);
    const base = r * items;
    acc.fill(0);
    for (let k = 0; k < gamma; k++) {
      const row = noiseStore ? noiseStore.subarray((r * gamma + k) * items, (r * gamma + k + 1) * items) : e;
      const z = fillE(row, items, base, keys[k][0], keys[k][1], table, invTau, noiseStore ? null : weights, base);
      const zk = noiseStore ? dotRounded(weights, base, row, items) : z;
      partition[r * gamma + k] = zk;
      const inv = 1 / zk;
      for (let i = 0; i < items; i++) acc[i] += row[i] * inv;
    }
    rowSupport(weights, acc, base, items, summed, support);
  }
}

function dotRounded(w: Float64Array, base: number, e: Float32Array | Float64Array, n: number): number {
  let z = 0;
  for (let i = 0; i < n; i++) z += w[base + i] * e[i];
  return z;
}

/** Bytes a noise store needs (γ·μ·I float32). */
export function noiseStoreBytes(mu: number, items: number, gamma: number): number {
  return 4 * mu * items * gamma;
}

export function allocSampled(mu: number, items: number, gamma: number): FastSampled {
  const n = mu * items;
  return { support: new Float64Array(n), summed: new Float64Array(n), weights: new Float64Array(n), partition: new Float64Array(mu * gamma) };
}

export function fastSample(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): FastSampled {
  checkFast(logits, mu, items, cfg);
  const out = allocSampled(mu, items, cfg.gamma);
  fastSampleRows(logits, mu, items, cfg, out, 0, mu);
  return out;
}

/** Backward of rows [r0, r1): writes dL into `out` (μ × I). */
export function fastSampleBackwardRows(
  sampled: FastSampled,
  mu: number,
  items: number,
  cfg: FastSampleConfig,
  dSupport: Float64Array,
  out: Float64Array,
  r0: number,
  r1: number,
  noiseStore: Float32Array | null = null,
  kernel: NoiseKernel | null = noiseKernel(),
): void {
  const { gamma, tau } = cfg;
  const n = mu * items;
  if (dSupport.length !== n || out.length !== n) throw new Error(`fastSampleBackward: dSupport and out must hold ${mu}×${items} values`);
  if (kernel) {
    kernelSampleBackwardRows(kernel, sampled, items, cfg, dSupport, out, r0, r1, noiseStore);
    return;
  }
  const invTau = 1 / tau;
  const table = noiseTable(tau);
  const { summed, weights, partition } = sampled;
  const e = new Float64Array(items);
  const acc = new Float64Array(items);
  const ds = new Float64Array(items);
  const v = new Float64Array(items);
  const keys = stepKeys(cfg);
  for (let r = r0; r < r1; r++) {
    const base = r * items;
    clippedRowGradient(summed, weights, dSupport, base, items, ds, v);
    acc.fill(0);
    for (let k = 0; k < gamma; k++) {
      let row: Float32Array | Float64Array = e;
      let dot: number;
      if (noiseStore) {
        row = noiseStore.subarray((r * gamma + k) * items, (r * gamma + k + 1) * items);
        dot = 0;
        for (let i = 0; i < items; i++) dot += v[i] * row[i];
      } else {
        dot = fillE(e, items, base, keys[k][0], keys[k][1], table, invTau, v, 0);
      }
      const z = partition[r * gamma + k];
      const coef = dot / (z * z);
      for (let i = 0; i < items; i++) acc[i] += coef * row[i];
    }
    rowLogitGradient(summed, weights, ds, acc, base, items, invTau, out);
  }
}

/** dL (μ × I) from dX̂, regenerating each E_k once. */
export function fastSampleBackward(
  sampled: FastSampled,
  mu: number,
  items: number,
  cfg: FastSampleConfig,
  dSupport: Float64Array,
  out: Float64Array = new Float64Array(mu * items),
): Float64Array {
  fastSampleBackwardRows(sampled, mu, items, cfg, dSupport, out, 0, mu);
  return out;
}

/**
 * fastSampleRows on the WebAssembly kernel: the same per-row algorithm, E_k
 * generated into kernel memory (bit-identical values; with a noise store the
 * float32-rounded values, as the TypeScript path uses), Z_k and the sum of
 * E_k/Z_k in float64x2.
 */
function kernelSampleRows(
  kernel: NoiseKernel,
  logits: Float64Array,
  items: number,
  cfg: FastSampleConfig,
  out: FastSampled,
  r0: number,
  r1: number,
  noiseStore: Float32Array | null,
): void {
  const { gamma, tau } = cfg;
  const invTau = 1 / tau;
  kernel.useTable(noiseTable(tau));
  const { weights, summed, partition, support } = out;
  const keys = stepKeys(cfg);
  // w, the running sum, E (float64) and E as float32 (half the float64 slots).
  const { offsets, views } = kernel.layout([items, items, items, Math.ceil(items / 2)]);
  const [wAt, accAt, eAt, e32At] = offsets;
  const [wRow, acc] = views;
  const e32 = kernel.float32View(e32At, items);
  // A store in the kernel's (shared) memory is written in place.
  const direct = noiseStore !== null && kernel.holds(noiseStore);
  for (let r = r0; r < r1; r++) {
    rowWeights(logits, r, items, invTau, weights);
    const base = r * items;
    wRow.set(weights.subarray(base, base + items));
    acc.fill(0);
    for (let k = 0; k < gamma; k++) {
      kernel.gen(items, base, keys[k][0], keys[k][1], eAt);
      if (noiseStore) {
        const at = (r * gamma + k) * items;
        if (direct) {
          kernel.toFloat32(eAt, noiseStore.byteOffset + 4 * at, items);
        } else {
          kernel.toFloat32(eAt, e32At, items);
          noiseStore.set(e32, at);
        }
      }
      const z = kernel.dot(wAt, eAt, items);
      partition[r * gamma + k] = z;
      kernel.axpy(accAt, eAt, items, 1 / z);
    }
    rowSupport(weights, acc, base, items, summed, support);
  }
}

/** fastSampleBackwardRows on the WebAssembly kernel (E_k regenerated, or read from the float32 store). */
function kernelSampleBackwardRows(
  kernel: NoiseKernel,
  sampled: FastSampled,
  items: number,
  cfg: FastSampleConfig,
  dSupport: Float64Array,
  out: Float64Array,
  r0: number,
  r1: number,
  noiseStore: Float32Array | null,
): void {
  const { gamma, tau } = cfg;
  const invTau = 1 / tau;
  kernel.useTable(noiseTable(tau));
  const { summed, weights, partition } = sampled;
  const keys = stepKeys(cfg);
  const { offsets, views } = kernel.layout([items, items, items, Math.ceil(items / 2)]);
  const [vAt, accAt, eAt, e32At] = offsets;
  const [v, acc] = views;
  const e32 = kernel.float32View(e32At, items);
  const direct = noiseStore !== null && kernel.holds(noiseStore);
  const ds = new Float64Array(items);
  for (let r = r0; r < r1; r++) {
    const base = r * items;
    clippedRowGradient(summed, weights, dSupport, base, items, ds, v);
    acc.fill(0);
    for (let k = 0; k < gamma; k++) {
      const z = partition[r * gamma + k];
      if (direct) {
        // Read the float32 store in place.
        const at = noiseStore!.byteOffset + 4 * (r * gamma + k) * items;
        kernel.axpy32(accAt, at, items, kernel.dot32(vAt, at, items) / (z * z));
        continue;
      }
      if (noiseStore) {
        e32.set(noiseStore.subarray((r * gamma + k) * items, (r * gamma + k + 1) * items));
        kernel.fromFloat32(e32At, eAt, items);
      } else {
        kernel.gen(items, base, keys[k][0], keys[k][1], eAt);
      }
      const c = kernel.dot(vAt, eAt, items);
      kernel.axpy(accAt, eAt, items, c / (z * z));
    }
    rowLogitGradient(summed, weights, ds, acc, base, items, invTau, out);
  }
}
