import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockKernel } from "../../lib/linalg/block-kernel.ts";
import { choleskyFactor, choleskyFactorInto, invertLowerTriangular, SingularKernelError } from "../../lib/linalg/cholesky.ts";
import { binaryGram } from "./fixtures.ts";

function tsDot(x: ArrayLike<number>, y: ArrayLike<number>): number {
  // cholesky.ts's dot, inlined here as the reference order
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let p = 0;
  for (; p + 3 < x.length; p += 4) {
    s0 += x[p] * y[p];
    s1 += x[p + 1] * y[p + 1];
    s2 += x[p + 2] * y[p + 2];
    s3 += x[p + 3] * y[p + 3];
  }
  for (; p < x.length; p++) s0 += x[p] * y[p];
  return (s0 + s1) + (s2 + s3);
}

test("block kernel: dot is the TypeScript loop's sum bit for bit (every tail length)", () => {
  const k = BlockKernel.create();
  assert.ok(k, "WebAssembly SIMD is available on Node 20");
  let seed = 3;
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 100, 255]) {
    const x = Array.from({ length: n }, r);
    const y = Array.from({ length: n }, r);
    assert.equal(k.dot(x, y), tsDot(x, y), `n = ${n}`);
  }
});

test("block kernel: factor and inverse equal choleskyFactorInto and invertLowerTriangular bit for bit", () => {
  const k = BlockKernel.create()!;
  for (const b of [1, 5, 64, 130]) {
    const g = binaryGram(b, b + 40, 11 + b);
    const block = Float32Array.from(g);
    const shift = 0.75;
    const diagonal = Float64Array.from({ length: b }, (_, i) => g[i * b + i] + shift);
    const a = Float64Array.from(block);
    const minRatio = choleskyFactorInto(a, b, a, { shift, diagonal, offset: 0, minPivotRatio: 1e-5 });
    const wantInv = Float32Array.from(invertLowerTriangular(a, b));
    const wantL = new Float32Array(b * b);
    for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) wantL[i * b + c] = a[i * b + c];
    const got = k.factorInverse(block, b, shift, diagonal, 1e-5, 0, true);
    assert.equal(got.minRatio, minRatio, `b = ${b}: min ratio`);
    assert.deepEqual([...got.inverse], [...wantInv], `b = ${b}: inverse`);
    assert.deepEqual([...got.factor], [...wantL], `b = ${b}: factor`);
  }
});

test("block kernel: a failing pivot throws SingularKernelError with the row, pivot and diagonal", () => {
  const k = BlockKernel.create()!;
  const b = 40;
  const g = binaryGram(b, 60, 5, { duplicate: [10, 23] });
  const block = Float32Array.from(g);
  const diagonal = Float64Array.from({ length: b }, (_, i) => g[i * b + i]);
  let want: SingularKernelError | null = null;
  try {
    const a = Float64Array.from(block);
    choleskyFactorInto(a, b, a, { diagonal, offset: 100, minPivotRatio: 1e-5 });
  } catch (e) {
    want = e as SingularKernelError;
  }
  assert.ok(want instanceof SingularKernelError);
  assert.throws(() => k.factorInverse(block, b, 0, diagonal, 1e-5, 100, false), (e: unknown) => {
    assert.ok(e instanceof SingularKernelError);
    assert.deepEqual(e.detail, want!.detail);
    assert.equal(e.message, want!.message);
    return true;
  });
});

test("block kernel: inverseFactor is invertLowerTriangular(choleskyFactor(·)) bit for bit, errors included", () => {
  const k = BlockKernel.create()!;
  for (const n of [3, 50, 131]) {
    const g = Float64Array.from(binaryGram(n, n + 20, 21 + n), (v, i) => v + 1e-3 * Math.sin(i));
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[j * n + i] = g[i * n + j]; // symmetric
    const options = { shift: 0.25, minPivotRatio: 1e-6 };
    assert.deepEqual([...k.inverseFactor(g, n, options)], [...invertLowerTriangular(choleskyFactor(g, n, options), n)], `n = ${n}`);
  }
  const n = 30;
  const singular = Float64Array.from(binaryGram(n, 40, 9, { duplicate: [4, 17] }));
  const want = (() => {
    try {
      choleskyFactor(singular, n, { minPivotRatio: 1e-5, offset: 7 });
    } catch (e) {
      return e as SingularKernelError;
    }
    throw new Error("expected a failing pivot");
  })();
  assert.throws(() => k.inverseFactor(singular, n, { minPivotRatio: 1e-5, offset: 7 }), (e: unknown) => {
    assert.ok(e instanceof SingularKernelError);
    assert.deepEqual(e.detail, want.detail);
    return true;
  });
});
