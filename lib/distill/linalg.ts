/**
 * Small dense float64 kernels for the DISTILL-CF reference path (row-major).
 * Plain loops ordered so the innermost loop walks contiguous memory.
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

/**
 * Lower Cholesky factor of a symmetric positive definite n × n matrix (only
 * its lower triangle is read). Throws naming the pivot when it is not PD.
 */
export function choleskyFactor(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`choleskyFactor: ${a.length} values, expected ${n}×${n}`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`choleskyFactor: matrix not positive definite (pivot ${i} is ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** Solve (L Lᵀ) X = R for X (n × m, row-major) given the lower factor L. */
export function choleskySolve(l: Float64Array, n: number, rhs: Float64Array, m: number): Float64Array {
  if (rhs.length !== n * m) throw new Error(`choleskySolve: rhs has ${rhs.length} values, expected ${n}×${m}`);
  const x = Float64Array.from(rhs);
  // Forward: L Y = R, row by row (rows of Y are contiguous).
  for (let i = 0; i < n; i++) {
    const xi = i * m;
    for (let k = 0; k < i; k++) {
      const v = l[i * n + k];
      if (v === 0) continue;
      const xk = k * m;
      for (let j = 0; j < m; j++) x[xi + j] -= v * x[xk + j];
    }
    const inv = 1 / l[i * n + i];
    for (let j = 0; j < m; j++) x[xi + j] *= inv;
  }
  // Backward: Lᵀ X = Y.
  for (let i = n - 1; i >= 0; i--) {
    const xi = i * m;
    for (let k = i + 1; k < n; k++) {
      const v = l[k * n + i];
      if (v === 0) continue;
      const xk = k * m;
      for (let j = 0; j < m; j++) x[xi + j] -= v * x[xk + j];
    }
    const inv = 1 / l[i * n + i];
    for (let j = 0; j < m; j++) x[xi + j] *= inv;
  }
  return x;
}
