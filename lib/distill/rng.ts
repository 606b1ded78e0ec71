/**
 * Counter-based random numbers for DISTILL-CF.
 *
 * The Gumbel noise G_k of outer step t and sample k must be regenerated
 * bit-identically in the backward pass (memory O(μ·I) instead of O(γ·μ·I)),
 * so every random word is a pure function of (seed, stream, counter): the
 * Threefry-2x32 block cipher with 20 rounds (Salmon et al., SC'11, "Random123";
 * also JAX's PRNG). Keys are (seed, stream) and counters (a, b); distinct
 * counters under one key never collide because the cipher is a bijection.
 *
 * Streams used here: the Gumbel noise of outer step t uses stream t (t ≥ 0,
 * below 2^31); other draws (initial users, batches) use streams ≥ 2^31 from
 * `STREAM_*`, so they can never coincide with a noise stream.
 */

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const SKEIN_PARITY = 0x1bd11bda;

/** Stream ids for non-noise draws (noise streams are step numbers < 2^31). */
export const STREAM_INIT_USERS = 0x80000001;
export const STREAM_BATCH = 0x80000002;
/** The inner solve's λ of each step drawn from a pool (run.ts's lambdaPool; call = the step). */
export const STREAM_LAMBDA_POOL = 0x80000003;

function checkWord(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new Error(`threefry2x32: ${name} must be an integer in [0, 2^32), got ${v}`);
  }
}

/**
 * Threefry-2x32-20: encrypt counter (ctr0, ctr1) under key (key0, key1).
 * Writes the two output words (unsigned 32-bit) into `out[0]`, `out[1]`.
 * Inputs are taken modulo 2^32 (callers validate).
 */
export function threefry2x32(key0: number, key1: number, ctr0: number, ctr1: number, out: Uint32Array): void {
  const k0 = key0 | 0;
  const k1 = key1 | 0;
  const k2 = k0 ^ k1 ^ SKEIN_PARITY;
  const ks = [k0, k1, k2];
  let x0 = (ctr0 + k0) | 0;
  let x1 = (ctr1 + k1) | 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) | 0;
    const rot = ROTATIONS[r & 7];
    x1 = (x1 << rot) | (x1 >>> (32 - rot));
    x1 ^= x0;
    if ((r & 3) === 3) {
      const i = (r + 1) >> 2;
      x0 = (x0 + ks[i % 3]) | 0;
      x1 = (x1 + ks[(i + 1) % 3] + i) | 0;
    }
  }
  out[0] = x0 >>> 0;
  out[1] = x1 >>> 0;
}

/** A 32-bit word mapped to the open interval (0, 1): (w + 0.5) / 2^32. */
export function wordToOpenUnit(w: number): number {
  return (w + 0.5) * 2.3283064365386963e-10;
}

/**
 * Fill `out` with standard Gumbel noise −log(−log u), u ∈ (0, 1) strictly,
 * for outer step `step` and Gumbel sample `sample`. Entry i comes from word
 * (i & 1) of the block for counter (sample, i >> 1) under key (seed, step), so
 * any (step, sample, i) can be regenerated alone. Values lie in about
 * [−3.13, 22.9] (the 32-bit resolution of u).
 */
export function fillGumbel(seed: number, step: number, sample: number, out: Float64Array): Float64Array {
  checkWord("seed", seed);
  if (!Number.isInteger(step) || step < 0 || step >= 0x80000000) {
    throw new Error(`fillGumbel: step must be an integer in [0, 2^31), got ${step}`);
  }
  checkWord("sample", sample);
  if (out.length > 2 * 0xffffffff) throw new Error(`fillGumbel: ${out.length} entries exceed the counter space`);
  const words = new Uint32Array(2);
  const n = out.length;
  for (let j = 0; 2 * j < n; j++) {
    threefry2x32(seed, step, sample, j, words);
    out[2 * j] = -Math.log(-Math.log(wordToOpenUnit(words[0])));
    if (2 * j + 1 < n) out[2 * j + 1] = -Math.log(-Math.log(wordToOpenUnit(words[1])));
  }
  return out;
}

/**
 * A uniform double in [0, 1) with 53 random bits, from the block for counter
 * (a, b) under key (seed, stream).
 */
export function uniform53(seed: number, stream: number, a: number, b: number, scratch?: Uint32Array): number {
  const words = scratch ?? new Uint32Array(2);
  threefry2x32(seed, stream, a, b, words);
  // 27 high bits of word 0 and 26 of word 1, as in the usual 53-bit construction.
  return ((words[0] >>> 5) * 67108864 + (words[1] >>> 6)) / 9007199254740992;
}

/**
 * k distinct integers from 0..n−1, in random order (partial Fisher–Yates),
 * determined by (seed, stream, call). `call` separates repeated draws on one
 * stream (e.g. the outer step for per-step batches).
 */
export function sampleWithoutReplacement(seed: number, stream: number, call: number, n: number, k: number): Int32Array {
  checkWord("seed", seed);
  checkWord("stream", stream);
  checkWord("call", call);
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k) || k < 0 || k > n) {
    throw new Error(`sampleWithoutReplacement: need integers 0 ≤ k ≤ n, got k=${k}, n=${n}`);
  }
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const words = new Uint32Array(2);
  for (let i = 0; i < k; i++) {
    // Bias of floor(u·m) with 53-bit u is below m/2^53: negligible for any user count.
    const j = i + Math.floor(uniform53(seed, stream, call, i, words) * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k);
}
