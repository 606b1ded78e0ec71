import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend } from "../../lib/onnx/backend.ts";
import {
  blockedCholesky,
  blockedCholeskySolve,
  blockedUnitSolve,
  diagonalInverses,
  invertLowerTriangular,
  tsCholeskyKernels,
  unitForm,
} from "../../lib/linalg/cholesky.ts";
import { choleskyFactor, SingularKernelError } from "../../lib/linalg/cholesky.ts";
import { OrtCholeskyKernels } from "../../lib/linalg/ort-kernels.ts";
import { relativeResidual, SpdSolver } from "../../lib/linalg/spd-solver.ts";
import { relativeResidualReference, solveReference } from "../../lib/linalg/reference.ts";
import { ridgeShift, solveDuals } from "../../lib/models/infinite-ae/duals.ts";
import { binaryGram } from "./fixtures.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The shared test kernel (fixtures.ts) at density 0.2. */
function gram(n: number, d: number, seed: number, duplicate?: [number, number]): Float32Array {
  return binaryGram(n, d, seed, { duplicate });
}

function targets(n: number, m: number, seed: number): Float32Array {
  const r = rng(seed);
  return new Float32Array(n * m).map(() => (r() < 0.1 ? 1 : 0));
}

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    e += (got[i] - want[i]) ** 2;
    w += want[i] ** 2;
  }
  return Math.sqrt(e / w);
}

test("invertLowerTriangular: L·L⁻¹ = I to 1e-13", () => {
  const b = 9;
  const r = rng(1);
  const l = new Float64Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) l[i * b + j] = i === j ? 1 + r() : r() - 0.5;
  const inv = invertLowerTriangular(l, b);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let p = 0; p < b; p++) s += l[i * b + p] * inv[p * b + j];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-13, `(${i},${j}) = ${s}`);
    }
  }
});

test("blocked algorithm with TypeScript kernels matches the float64 reference (ragged blocks)", async () => {
  const n = 70; // 4 blocks of 16 and a ragged block of 6
  const m = 5;
  const k = gram(n, 90, 2);
  const x = targets(n, m, 3);
  const c = ridgeShift(k, n, 1);
  const lRef = choleskyFactor(k, n, { shift: c, minPivotRatio: 1e-5 });
  const left = await blockedCholesky(tsCholeskyKernels, k, n, c, { blockSize: 16, variant: "left" });
  const chol = await blockedCholesky(tsCholeskyKernels, k, n, c, { blockSize: 16, variant: "right" });
  for (const [name, f] of [["left", left], ["right", chol]] as const) {
    const lErr = relError(f.l, lRef);
    // Measured ≈ 3e-8 (float32 storage of L).
    assert.ok(lErr < 1e-6, `${name}-looking: L relative error ${lErr}`);
  }
  const want = solveReference(k, n, x, m, c);
  // Solve blocks 24 (inverses recomputed from L) and 8 (cut out of the factor's 16-block inverses).
  for (const sb of [24, 8, 16]) {
    const dInv = diagonalInverses(chol, sb);
    const alpha = await blockedCholeskySolve(
      tsCholeskyKernels, chol.l, n, dInv, sb, x, m, new Float32Array(n * m), new Float32Array(n * m),
    );
    const err = relError(alpha, want);
    assert.ok(err < 1e-5, `solve block ${sb}: α relative error ${err}`);
    const u = new Float32Array(n * n);
    const w = await unitForm(tsCholeskyKernels, chol.l, n, dInv, sb, u);
    const alphaUnit = await blockedUnitSolve(tsCholeskyKernels, u, n, w, sb, x, m, new Float32Array(n * m), new Float32Array(n * m));
    const errUnit = relError(alphaUnit, want);
    assert.ok(errUnit < 1e-5, `unit form, solve block ${sb}: α relative error ${errUnit}`);
  }
});

test("look-ahead (diagonal blocks on a worker) gives the left-looking factor; a failing block names its row", async () => {
  const backend = await getBackend({ device: "cpu" });
  const n = 330; // 5 blocks of 64 and a ragged block of 10
  const k = gram(n, 400, 5);
  const c = ridgeShift(k, n, 1);
  const lRef = choleskyFactor(k, n, { shift: c, minPivotRatio: 1e-5 });
  const plain = await new SpdSolver(backend, { blockSize: 64, lookAhead: false }).factor(k, n, c);
  const ahead = await new SpdSolver(backend, { blockSize: 64, lookAhead: true }).factor(k, n, c);
  const lPlain = Float32Array.from(plain.l);
  const lAhead = Float32Array.from(ahead.l);
  // Measured: identical to the plain factor (the split GEMM sums each entry in the same
  // order, the worker's blocks are the same kernel) and 3.3e-7 from float64.
  assert.deepEqual(lAhead, lPlain);
  assert.ok(relError(lAhead, lRef) < 1e-6, `look-ahead vs float64: ${relError(lAhead, lRef)}`);
  assert.equal(ahead.minPivotRatio, plain.minPivotRatio);
  // Users 200 and 201 identical: with λ = 0 a pivot of block 3 fails, on the worker, with
  // exactly the error the factor in this thread gives.
  const singular = gram(n, 400, 5, [200, 201]);
  const plainError = await new SpdSolver(backend, { blockSize: 64, lookAhead: false }).factor(singular, n, 0).then(() => null, (e: unknown) => e);
  assert.ok(plainError instanceof SingularKernelError, String(plainError));
  assert.equal(plainError.detail.kind === "pivot" && plainError.detail.index, 201);
  await assert.rejects(new SpdSolver(backend, { blockSize: 64, lookAhead: true }).factor(singular, n, 0), (e: unknown) => {
    assert.ok(e instanceof SingularKernelError, String(e));
    assert.deepEqual(e.detail, plainError.detail);
    assert.equal(e.message, plainError.message);
    return true;
  });
});

test("ORT solver matches the float64 reference for several block sizes; residual < 1e-5", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 300;
  const m = 50;
  const k = gram(n, 400, 4);
  const kCopy = k.slice();
  const x = targets(n, m, 5);
  const c = ridgeShift(k, n, 1);
  const ref = solveReference(k, n, x, m, c);
  // 64: ragged last block (300 = 4·64 + 44); 128 with solve blocks of 96 (recomputed) and
  // 32 (cut out); 512 > n: one block.
  const configs = [[64, 64, "right"], [64, 64, "left"], [128, 96, "right"], [128, 32, "left"], [512, 512, "right"]] as const;
  for (const [blockSize, solveBlockSize, variant] of configs) {
    const f = await SpdSolver.factor(k, n, c, be, { blockSize, solveBlockSize, variant });
    for (const unit of [false, true]) {
      const alpha = await f.solve(x, m, undefined, { unitForm: unit });
      const err = relError(alpha, ref);
      const res = relativeResidualReference(k, n, c, alpha, x, m);
      const what = `${variant} b = ${blockSize}/${solveBlockSize}${unit ? ", unit form" : ""}`;
      // Measured ≈ 3e-7 and ≈ 2e-7 (float32 arithmetic).
      assert.ok(err < 1e-5, `${what}: relative error ${err}`);
      assert.ok(res < 1e-5, `${what}: residual ${res}`);
    }
    assert.ok(f.minPivotRatio > 0.1 && f.minPivotRatio <= 1, `min pivot ratio ${f.minPivotRatio}`);
  }
  assert.deepEqual(k, kCopy, "K must not be written");
});

test("ORT panel kernels (copy + Gemm, Slice in graph) match the TypeScript kernel", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 50;
  const k = gram(n, 70, 20);
  const l = new Float32Array(n * n).map((_, i) => (i % n < Math.floor(i / n) ? Math.sin(i) : 0));
  const kernels = new OrtCholeskyKernels(be);
  const [j0, j1] = [16, 29];
  const size = (n - j0) * (j1 - j0);
  const want = new Float32Array(size);
  await tsCholeskyKernels.panel(k, l, n, j0, j1, want);
  const copied = new Float32Array(size);
  const sliced = new Float32Array(size);
  await kernels.panel(k, l, n, j0, j1, copied);
  await kernels.panelSliced(k, l, n, j0, j1, sliced);
  // Measured ≈ 1e-7 (float32 GEMM vs float64 accumulation).
  assert.ok(relError(copied, want) < 1e-5, `panel: ${relError(copied, want)}`);
  assert.ok(relError(sliced, want) < 1e-5, `panelSliced: ${relError(sliced, want)}`);
});

test("relativeResidual (ORT) agrees with the float64 residual", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 120;
  const m = 9;
  const k = gram(n, 200, 6);
  const x = targets(n, m, 7);
  const c = ridgeShift(k, n, 5);
  const alpha = Float32Array.from(solveReference(k, n, x, m, c));
  for (let i = 0; i < alpha.length; i++) alpha[i] *= 1.001; // a residual (≈ 1e-3) well above float32 rounding
  const want = relativeResidualReference(k, n, c, alpha, x, m);
  const got = await relativeResidual(k, n, c, alpha, x, m, be);
  // Measured agreement ≈ 1e-6 relative (float32 products).
  assert.ok(want > 1e-4 && Math.abs(got - want) / want < 1e-4, `got ${got}, want ${want}`);
});

test("one solver reuses its buffers across λ; an older factor is invalidated", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 90;
  const m = 6;
  const k = gram(n, 150, 8);
  const x = targets(n, m, 9);
  const solver = new SpdSolver(be, { blockSize: 32 });
  const out = new Float32Array(n * m);
  let first: Awaited<ReturnType<SpdSolver["factor"]>> | undefined;
  for (const lambda of [1, 5, 20]) {
    const alpha = await solveDuals(k, n, x, m, lambda, be, { solver, out });
    assert.equal(alpha, out);
    const c = ridgeShift(k, n, lambda);
    const err = relError(alpha, solveReference(k, n, x, m, c));
    assert.ok(err < 1e-5, `λ = ${lambda}: relative error ${err}`);
    if (first === undefined) first = await solver.factor(k, n, c);
  }
  const stale = first!;
  await solver.factor(k, n, 1);
  await assert.rejects(stale.solve(x, m), /buffer was reused by a later SpdSolver.factor/);
});

test("iterative refinement does not worsen the residual (its gain is limited by float32 products)", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 150;
  const m = 8;
  const k = gram(n, 200, 10);
  const x = targets(n, m, 11);
  const c = ridgeShift(k, n, 1e-4);
  const f = await SpdSolver.factor(k, n, c, be, { blockSize: 64 });
  const plain = relativeResidualReference(k, n, c, await f.solve(x, m), x, m);
  const refined = relativeResidualReference(k, n, c, await f.solve(x, m, undefined, { refine: 1 }), x, m);
  // Measured: plain 4.6e-6, refined 3.1e-6.
  assert.ok(refined < 1e-5, `refined residual ${refined}, plain ${plain}`);
  assert.ok(refined <= plain * 1.5, `refinement made it worse: ${refined} vs ${plain}`);
});

test("singular K (duplicate users) with λ = 0 throws SingularKernelError; λ = 1 solves", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 100;
  const m = 4;
  const k = gram(n, 300, 12, [10, 71]); // users 10 and 71 identical
  const x = targets(n, m, 13);
  x.copyWithin(71 * m, 10 * m, 11 * m);
  await assert.rejects(
    solveDuals(k, n, x, m, 0, be, { solverOptions: { blockSize: 32 } }),
    (e: unknown) => e instanceof SingularKernelError && e.name === "SingularKernelError" && e.detail.kind === "pivot" && e.detail.index === 71,
  );
  const alpha = await solveDuals(k, n, x, m, 1, be, { solverOptions: { blockSize: 32 } });
  assert.ok(relativeResidualReference(k, n, ridgeShift(k, n, 1), alpha, x, m) < 1e-5);
  // A rank-deficient Gram (n > d) is caught the same way.
  await assert.rejects(SpdSolver.factor(gram(60, 20, 14), 60, 0, be, { blockSize: 16 }), SingularKernelError);
});

test("an ill-conditioned system passes the pivot test but fails the residual check", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 150;
  const m = 8;
  const k = gram(n, 100, 10); // rank ≤ 100 + the constant: λ = 1e-4 leaves cond ≈ 1e4
  const x = targets(n, m, 11);
  const opts = { solverOptions: { blockSize: 64 } };
  await assert.rejects(
    solveDuals(k, n, x, m, 1e-4, be, opts),
    (e: unknown) => e instanceof SingularKernelError && e.detail.kind === "residual" && e.detail.residual > 1e-4,
  );
  // Measured: pivot ratio 2.3e-4, full residual 3.6e-3; the sampled estimate is of the same order.
  const alpha = await solveDuals(k, n, x, m, 1e-4, be, { ...opts, maxResidual: Infinity });
  const c = ridgeShift(k, n, 1e-4);
  const full = relativeResidualReference(k, n, c, alpha, x, m);
  const f = await SpdSolver.factor(k, n, c, be, { blockSize: 64 });
  const estimate = await f.estimateResidual(x, alpha, m, 4);
  assert.ok(full > 1e-4 && estimate > full / 10 && estimate < full * 10, `full ${full}, estimate ${estimate}`);
});

test("bad input gets clear errors", async () => {
  const be = await getBackend({ device: "cpu" });
  const k = gram(8, 20, 15);
  const x = targets(8, 2, 16);
  await assert.rejects(SpdSolver.factor(k.subarray(1), 8, 0.1, be), /K has 63 entries, expected n×n = 8×8 = 64/);
  await assert.rejects(SpdSolver.factor(k, 8, -1, be), /shift must be finite and ≥ 0/);
  await assert.rejects(SpdSolver.factor(k, 8.5, 0.1, be), /n must be a positive integer/);
  assert.throws(() => new SpdSolver(be, { blockSize: 0 }), /block size must be a positive integer/);
  const f = await SpdSolver.factor(k, 8, 0.1, be, { blockSize: 4 });
  await assert.rejects(f.solve(x.subarray(1), 2), /X has 15 entries, expected n×m = 8×2 = 16/);
  await assert.rejects(f.solve(x, 2, new Float32Array(3)), /out has 3 entries/);
  await assert.rejects(f.solve(x, 2, x), /must not share memory with X/);
  await assert.rejects(solveDuals(k, 8, x, 2, -1, be), /λ must be finite and ≥ 0/);
});
