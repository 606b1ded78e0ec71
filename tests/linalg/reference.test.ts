import { test } from "node:test";
import assert from "node:assert/strict";
import { choleskyFactor, SingularKernelError } from "../../lib/linalg/cholesky.ts";
import { relativeResidualReference, solveReference } from "../../lib/linalg/reference.ts";
import { ridgeShift } from "../../lib/models/infinite-ae/duals.ts";

/** Deterministic uniform [0, 1) generator (LCG), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** K = A·Aᵀ/d + 0.01 for a random binary A (n × d): a PSD Gram like the ∞-AE one. */
function gram(n: number, d: number, seed: number, duplicateRow?: [number, number]): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * d).map(() => (r() < 0.3 ? 1 : 0));
  if (duplicateRow) a.copyWithin(duplicateRow[1] * d, duplicateRow[0] * d, duplicateRow[0] * d + d);
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += a[i * d + p] * a[j * d + p];
      k[i * n + j] = s / d + 0.01;
    }
  }
  return k;
}

test("choleskyFactor: L·Lᵀ = K + c·I to 1e-12 relative, L lower triangular", () => {
  const n = 40;
  const k = gram(n, 60, 1);
  const c = 0.3;
  const l = choleskyFactor(k, n, { shift: c, minPivotRatio: 1e-5 });
  let err = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j > i) assert.equal(l[i * n + j], 0);
      let s = 0;
      for (let p = 0; p < n; p++) s += l[i * n + p] * l[j * n + p];
      const want = k[i * n + j] + (i === j ? c : 0);
      err += (s - want) ** 2;
      norm += want ** 2;
    }
  }
  assert.ok(Math.sqrt(err / norm) < 1e-12, `relative error ${Math.sqrt(err / norm)}`);
});

test("solveReference: exact on a 2×2 system and residual < 1e-12 on a random one", () => {
  // (K + 1·I) = [[3, 1], [1, 2]], X = [[5], [5]] → α = [1, 2].
  const alpha2 = solveReference([2, 1, 1, 1], 2, [5, 5], 1, 1);
  assert.ok(Math.abs(alpha2[0] - 1) < 1e-14 && Math.abs(alpha2[1] - 2) < 1e-14, `${alpha2}`);

  const n = 50;
  const m = 7;
  const k = gram(n, 30, 2);
  const r = rng(3);
  const x = new Float64Array(n * m).map(() => r());
  const c = ridgeShift(k, n, 1);
  const alpha = solveReference(k, n, x, m, c);
  const res = relativeResidualReference(k, n, c, alpha, x, m);
  assert.ok(res < 1e-12, `residual ${res}`);
  // The residual helper sees a perturbation.
  alpha[0] += 1e-3;
  assert.ok(relativeResidualReference(k, n, c, alpha, x, m) > 1e-6);
});

test("ridgeShift is λ·tr(K)/n and rejects negative λ", () => {
  assert.equal(ridgeShift([2, 9, 9, 4], 2, 5), 15);
  assert.equal(ridgeShift([2, 9, 9, 4], 2, 0), 0);
  assert.throws(() => ridgeShift([1], 1, -1), /λ must be finite and ≥ 0/);
  assert.throws(() => ridgeShift([1, 2, 3], 2, 1), /expected 2×2/);
});

test("duplicate users with shift 0 throw SingularKernelError; a shift makes it solvable", () => {
  const n = 30;
  const k = gram(n, 40, 4, [3, 17]);
  assert.throws(
    () => choleskyFactor(k, n, { shift: 0, minPivotRatio: 1e-5 }),
    (e: unknown) => e instanceof SingularKernelError && e.name === "SingularKernelError" && e.detail.kind === "pivot" && e.detail.index === 17,
  );
  const l = choleskyFactor(k, n, { shift: ridgeShift(k, n, 1), minPivotRatio: 1e-5 });
  assert.ok(l[17 * n + 17] > 0);
});

test("bad shapes get clear errors", () => {
  assert.throws(() => solveReference([1, 0, 0], 2, [1, 1], 1), /K has 3 entries, expected n×n = 2×2 = 4/);
  assert.throws(() => solveReference([1, 0, 0, 1], 2, [1, 1, 1], 1), /X has 3 entries, expected n×m = 2×1 = 2/);
  assert.throws(() => solveReference([1], 1, [1], 0), /m must be a positive integer/);
});
