/**
 * Small dense float64 products (row-major) for DISTILL-CF's float64 objective
 * and tests. Plain loops ordered so the innermost loop walks contiguous memory.
 */

/** C (n × m) = A (n × k) · B (k × m). */
export function matmul(a: Float64Array, n: number, k: number, b: Float64Array, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      if (v === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) c[ci + j] += v * b[bp + j];
    }
  }
  return c;
}

/** C (k × m) += Aᵀ · B for A (n × k), B (n × m). */
export function addMatmulTransA(
  c: Float64Array,
  a: Float64Array,
  n: number,
  k: number,
  b: Float64Array,
  m: number,
): Float64Array {
  for (let i = 0; i < n; i++) {
    const bi = i * m;
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      if (v === 0) continue;
      const cp = p * m;
      for (let j = 0; j < m; j++) c[cp + j] += v * b[bi + j];
    }
  }
  return c;
}

/** C (n × k) = A (n × m) · Bᵀ for B (k × m). */
export function matmulTransB(a: Float64Array, n: number, m: number, b: Float64Array, k: number): Float64Array {
  const c = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const ai = i * m;
    for (let p = 0; p < k; p++) {
      const bp = p * m;
      let s = 0;
      for (let j = 0; j < m; j++) s += a[ai + j] * b[bp + j];
      c[i * k + p] = s;
    }
  }
  return c;
}
