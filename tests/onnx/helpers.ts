/** Shared test helpers: seeded random matrices and relative error. */

/** A small deterministic generator (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random binary rows (density p) with the listed rows left empty. */
export function binaryRows(n: number, d: number, p: number, seed: number, emptyRows: number[] = []): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = r() < p ? 1 : 0;
  for (const i of emptyRows) x.fill(0, i * d, (i + 1) * d);
  return x;
}

/** Random weighted rows in [0, 1] (density p), with the listed rows left empty. */
export function weightedRows(n: number, d: number, p: number, seed: number, emptyRows: number[] = []): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = r() < p ? r() : 0;
  for (const i of emptyRows) x.fill(0, i * d, (i + 1) * d);
  return x;
}

/** max_i |got_i − want_i| / |want_i| (want_i ≠ 0 everywhere in our kernels). */
export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-30);
    if (Number.isNaN(e)) return NaN; // a NaN must fail every bound
    if (e > m) m = e;
  }
  return m;
}

/** Float64 row-major A (m×k) · B (k×n), or A · Bᵀ with B (n×k). */
export function matmulReference(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, transB = false): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += a[i * k + l] * (transB ? b[j * k + l] : b[l * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}
