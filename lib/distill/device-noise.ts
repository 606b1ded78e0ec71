/**
 * The Gumbel noise of DISTILL-CF's device sampling (device-sample.ts): a
 * counter-based hash that ONNX graphs can compute on a GPU, and its exact
 * TypeScript replica (the words bit for bit) for tests and the float64 reference.
 *
 * Why a second stream: fast-sample.ts's hash needs xor and shifts, and ONNX
 * Runtime's WebGPU EP runs no bitwise op (BitwiseXor, BitwiseAnd and BitShift
 * were placed on the CPU in the lavapipe probe), while int32 Add, Mul, Div and
 * Cast run on the GPU. So this hash mixes with wrapping int32 multiply–add and
 * a truncating division by 2^s in place of the shift, and the xor with a key
 * becomes an addition:
 *
 *   x = idx·C₀ + k₀;  x = mix(x);  x = x + k₁;  x = mix(x)
 *   mix(x): x += x/2¹⁶; x *= 0x7feb352d; x += x/2¹⁵; x *= 0x846ca68b; x += x/2¹⁶
 *
 * (all int32, wrapping; "/" truncates toward zero, as ONNX's integer Div and
 * WGSL's i32 division do). The keys (k₀, k₁) per (seed, step, sample) come from
 * Threefry, as for the CPU stream (fast-sample.ts `sampleKeys`).
 *
 * The word becomes u ∈ (0, 1) in float32: u = clip((float(x) + 2³¹)·2⁻³², 2⁻³², 1 − 2⁻²⁴),
 * every step exact or correctly rounded, so the replica gets the same u. Then
 * E = exp(G/τ) = (−log u)^(−1/τ). On the device log and exp are the GPU's (not
 * correctly rounded: E agrees with the replica's float64 E to ~1e-6 relative,
 * worse only where u is within ~1e-3 of 1); forward and backward run the same
 * nodes on the same device, so the gradient is exact for the noise the
 * device drew.
 */
import { sampleKeys } from "./fast-sample.ts";

/** Multiplier of the entry index before mixing (odd, so idx ↦ idx·C₀ is a bijection). */
export const INDEX_MULTIPLIER = 0x9e3779b9 | 0;
export const MIX_M1 = 0x7feb352d | 0;
export const MIX_M2 = 0x846ca68b | 0;
/** The uniform's clip range: u = 0 would give E = 0 and u = 1 an infinite E. */
export const U_MIN = 2 ** -32;
export const U_MAX = 1 - 2 ** -24;

/** Truncating int32 division by a power of two, as the graphs' Div computes it. */
function divTrunc(x: number, d: number): number {
  return Math.trunc(x / d) | 0;
}

function mix(x: number): number {
  x = (x + divTrunc(x, 65536)) | 0;
  x = Math.imul(x, MIX_M1);
  x = (x + divTrunc(x, 32768)) | 0;
  x = Math.imul(x, MIX_M2);
  return (x + divTrunc(x, 65536)) | 0;
}

/** The int32 word of entry `index` under keys (k0, k1), as the device graph computes it. */
export function deviceNoiseWord(k0: number, k1: number, index: number): number {
  let x = (Math.imul(index, INDEX_MULTIPLIER) + (k0 | 0)) | 0;
  x = mix(x);
  x = (x + (k1 | 0)) | 0;
  return mix(x);
}

/** u ∈ (0, 1) of a word, in float32 exactly as the graph computes it. */
export function deviceUniform(word: number): number {
  const f = Math.fround(word);
  const u = Math.fround(Math.fround(f + 2147483648) * 2 ** -32);
  return Math.min(Math.max(u, U_MIN), Math.fround(U_MAX));
}

/** The device keys of one step, int32, sample k at [k] (with the duplicate-first-sample quirk). */
export function deviceStepKeys(seed: number, step: number, gamma: number, duplicateFirstSample = false): { k0: Int32Array; k1: Int32Array } {
  const k0 = new Int32Array(gamma);
  const k1 = new Int32Array(gamma);
  for (let k = 0; k < gamma; k++) {
    const keys = sampleKeys(seed, step, duplicateFirstSample ? Math.max(0, k - 1) : k);
    k0[k] = keys[0] | 0;
    k1[k] = keys[1] | 0;
  }
  return { k0, k1 };
}

/** E = (−log u)^(−1/τ) of entries [offset, offset + out.length) under one sample's keys, float64. */
export function fillDeviceE(out: Float64Array, offset: number, k0: number, k1: number, tau: number): void {
  const invTau = 1 / tau;
  for (let i = 0; i < out.length; i++) {
    const u = deviceUniform(deviceNoiseWord(k0, k1, offset + i));
    out[i] = Math.exp(-invTau * Math.log(-Math.log(u)));
  }
}

/**
 * The device stream as sample.ts's `GumbelSource` (G_k = −log(−log u) of the
 * replica's u, float64), so the float64 reference runs on the noise the device draws.
 */
export function deviceGumbelSource(seed: number, step: number, duplicateFirstSample = false): (sample: number, out: Float64Array) => void {
  return (sample, out) => {
    const s = duplicateFirstSample ? Math.max(0, sample - 1) : sample;
    const keys = sampleKeys(seed, step, s);
    for (let i = 0; i < out.length; i++) {
      const u = deviceUniform(deviceNoiseWord(keys[0] | 0, keys[1] | 0, i));
      out[i] = -Math.log(-Math.log(u));
    }
  };
}
