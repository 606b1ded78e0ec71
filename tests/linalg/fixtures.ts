/** Test kernels shaped like the ∞-AE Gram, shared by the solver tests. */
import { lcg } from "../helpers.ts";

/**
 * K = A·Aᵀ/d + 0.01 (float32, symmetric) for a seeded random binary A (n × d,
 * entries 1 with probability `density`): PSD like the NTK Gram, singular when
 * n > d or when `duplicate` [i, j] copies user i's row onto user j's.
 */
export function binaryGram(n: number, d: number, seed: number, options: { density?: number; duplicate?: [number, number] } = {}): Float32Array {
  const r = lcg(seed);
  const density = options.density ?? 0.2;
  const a = new Float64Array(n * d).map(() => (r() < density ? 1 : 0));
  const dup = options.duplicate;
  if (dup) a.copyWithin(dup[1] * d, dup[0] * d, dup[0] * d + d);
  const k = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += a[i * d + p] * a[j * d + p];
      k[i * n + j] = k[j * n + i] = s / d + 0.01;
    }
  }
  return k;
}
