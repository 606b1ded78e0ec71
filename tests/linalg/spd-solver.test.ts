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
import { OrtCholeskyKernels, PANEL_ROWS } from "../../lib/linalg/ort-kernels.ts";
import { holdsFactor, relativeResidual, restoreKernel, SpdSolver } from "../../lib/linalg/spd-solver.ts";
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
      tsCholeskyKernels, chol.l, n, dInv, sb, x, m, new Float32Array(n * m),
    );
    const err = relError(alpha, want);
    assert.ok(err < 1e-5, `solve block ${sb}: α relative error ${err}`);
    const u = new Float32Array(n * n);
    const w = await unitForm(tsCholeskyKernels, chol.l, n, dInv, sb, u);
    const alphaUnit = await blockedUnitSolve(tsCholeskyKernels, u, n, w, sb, x, m, new Float32Array(n * m));
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
  // Taller than PANEL_ROWS: the Gemm runs by chunks of rows (and a row range of the look-ahead).
  const tall = PANEL_ROWS + 77;
  const kt = gram(tall, 40, 25);
  const lt = new Float32Array(tall * tall).map((_, i) => (i % tall < Math.floor(i / tall) ? Math.cos(i) : 0));
  for (const range of [undefined, [40, tall - 3]] as const) {
    const [r0, r1] = range ?? [24, tall];
    const wantT = new Float32Array((r1 - r0) * 13);
    const gotT = new Float32Array((r1 - r0) * 13);
    await tsCholeskyKernels.panel(kt, lt, tall, 24, 37, wantT, range);
    await kernels.panel(kt, lt, tall, 24, 37, gotT, range);
    assert.ok(relError(gotT, wantT) < 1e-5, `tall panel ${JSON.stringify(range)}: ${relError(gotT, wantT)}`);
  }
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
  const shared = new Float32Array(20);
  shared.set(x);
  await assert.rejects(f.solve(shared.subarray(0, 16), 2, shared.subarray(2, 18)), /out must be X itself or not share memory with it/);
  await assert.rejects(solveDuals(k, 8, x, 2, -1, be), /λ must be finite and ≥ 0/);
});

test("factorInPlace: the same α as factor with one n × n buffer; K restored bit for bit, for the next λ and after a failure", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 200; // 3 blocks of 64 and a ragged block of 8
  const m = 30;
  const k = gram(n, 300, 21);
  const kCopy = k.slice();
  const x = targets(n, m, 22);
  const solver = new SpdSolver(be, { blockSize: 64, solveBlockSize: 64 });
  const separate = new SpdSolver(be, { blockSize: 64, solveBlockSize: 64 });
  for (const lambda of [1, 5, 0.2]) {
    const c = ridgeShift(kCopy, n, lambda);
    const inPlace = await solver.factorInPlace(k, n, c);
    assert.ok(holdsFactor(k));
    assert.notDeepEqual(k, kCopy);
    // The factor is the separate buffer's (same arithmetic), written into K's lower triangle.
    const plain = await separate.factor(kCopy, n, c);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) assert.equal(k[i * n + j], plain.l[i * n + j]);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(k[i * n + j], kCopy[i * n + j]);
    for (const unit of [false, true]) {
      const alpha = await inPlace.solve(x, m, undefined, { unitForm: unit, maxResidual: 1e-5 });
      assert.deepEqual(alpha, await plain.solve(x, m, undefined, { unitForm: unit }));
      const err = relError(alpha, solveReference(kCopy, n, x, m, c));
      // Measured ≈ 3e-7 (float32 arithmetic).
      assert.ok(err < 1e-5, `λ = ${lambda}${unit ? ", unit form" : ""}: relative error ${err}`);
    }
    // The residual check reads K from its upper triangle and saved diagonal: the same number as from K.
    const alpha = await inPlace.solve(x, m);
    assert.equal(await inPlace.estimateResidual(x, alpha, m, 5), await plain.estimateResidual(x, alpha, m, 5));
    assert.equal(await relativeResidual(k, n, c, alpha, x, m, be), await relativeResidual(kCopy, n, c, alpha, x, m, be));
  }
  await assert.rejects(solver.factor(k, n, 1), /holds an in-place factor; restoreKernel/);
  restoreKernel(k);
  assert.ok(!holdsFactor(k));
  assert.deepEqual(k, kCopy);
  // A singular K + c·I: the error is thrown and K is whole again.
  const dup = gram(100, 300, 12, [10, 71]);
  const dupCopy = dup.slice();
  await assert.rejects(solver.factorInPlace(dup, 100, 0), SingularKernelError);
  assert.ok(!holdsFactor(dup));
  assert.deepEqual(dup, dupCopy);
});

test("solve in place (out = X): the same α bit for bit, the residual check from X's kept columns; overlap and refinement refused", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 150;
  const m = 40;
  const k = gram(n, 200, 23);
  const x = targets(n, m, 24);
  const c = ridgeShift(k, n, 1);
  const f = await SpdSolver.factor(k, n, c, be, { blockSize: 64, solveBlockSize: 32 });
  for (const unit of [false, true]) {
    const want = await f.solve(x, m, undefined, { unitForm: unit });
    const a = x.slice();
    assert.equal(await f.solve(a, m, a, { unitForm: unit, maxResidual: 1e-5 }), a);
    assert.deepEqual(a, want);
  }
  // The residual check still sees X: an ill-conditioned system fails it in place too.
  const kBad = gram(n, 100, 10);
  const cBad = ridgeShift(kBad, n, 1e-4);
  const fBad = await SpdSolver.factor(kBad, n, cBad, be, { blockSize: 64 });
  const xBad = targets(n, 8, 11);
  const plain = fBad.solve(xBad, 8, undefined, { maxResidual: 1e-4 });
  await assert.rejects(plain, (e: unknown) => e instanceof SingularKernelError && e.detail.kind === "residual");
  const inPlace = xBad.slice();
  await assert.rejects(fBad.solve(inPlace, 8, inPlace, { maxResidual: 1e-4 }), (e: unknown) => e instanceof SingularKernelError && e.detail.kind === "residual");
  // A zero X solves to zero with residual 0.
  const zero = new Float32Array(n * m);
  assert.deepEqual(await f.solve(zero, m, zero, { maxResidual: 1e-5 }), new Float32Array(n * m));
  const buf = new Float32Array(n * m + 4);
  await assert.rejects(f.solve(buf.subarray(0, n * m), m, buf.subarray(4)), /out must be X itself or not share memory/);
  const y = x.slice();
  await assert.rejects(f.solve(y, m, y, { refine: 1 }), /cannot solve in place/);
});
