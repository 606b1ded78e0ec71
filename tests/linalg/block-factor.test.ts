/** The device Cholesky's diagonal blocks: float64 reference, worker pool = calling thread, failures per block. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockFactorPool, type BlockFactorJob, factorBlockInverse } from "../../lib/linalg/block-factor.ts";
import { lcg } from "../helpers.ts";

/** A random SPD-ish block X·Xᵀ (b × b) from `cols` columns: singular when cols < b. */
function gramBlock(b: number, cols: number, seed: number): Float32Array {
  const r = lcg(seed);
  const x = Array.from({ length: b * cols }, () => r() - 0.5);
  const a = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
    let s = 0;
    for (let p = 0; p < cols; p++) s += x[i * cols + p] * x[j * cols + p];
    a[i * b + j] = s;
  }
  return a;
}

function job(block: Float32Array, b: number, shift: number, j0 = 0): BlockFactorJob {
  const diagonal = Float64Array.from({ length: b }, (_, i) => block[i * b + i] + shift);
  return { block, b, j0, shift, diagonal, minPivotRatio: 1e-5 };
}

test("factorBlockInverse: D·(A + c·I)·Dᵀ = I in float64 (relative error ≤ 1e-5 after the float32 round)", () => {
  const b = 40;
  const a = gramBlock(b, 60, 1);
  const { inverse, failure } = factorBlockInverse(job(a, b, 0.3));
  assert.equal(failure, null);
  const d = inverse!;
  let worst = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
    // (D·A'·Dᵀ)[i][j] with A' = A + 0.3·I, in float64.
    let s = 0;
    for (let p = 0; p < b; p++) for (let q = 0; q < b; q++) s += d[i * b + p] * (a[p * b + q] + (p === q ? 0.3 : 0)) * d[j * b + q];
    worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
  }
  assert.ok(worst <= 1e-5, `max |D·A·Dᵀ − I| = ${worst}`);
  for (let i = 0; i < b; i++) for (let j = i + 1; j < b; j++) assert.equal(d[i * b + j], 0, "D is lower triangular");
});

test("factorBlockInverse reports a non-positive-definite block as a pivot failure at its global row", () => {
  const b = 20;
  const out = factorBlockInverse(job(gramBlock(b, 5, 2), b, 0, 100));
  assert.equal(out.inverse, null);
  assert.equal(out.failure?.kind, "pivot");
  assert.ok(out.failure!.kind === "pivot" && out.failure!.index >= 100 + 5, `row ${JSON.stringify(out.failure)}`);
});

test("BlockFactorPool: workers give exactly the calling thread's inverses and failures, in job order", async () => {
  const b = 96; // above the pool's in-thread threshold
  const jobs = [0.5, 0, 2, 7].map((c, i) => job(gramBlock(b, i === 1 ? 30 : 120, 10 + i), b, c, 256 * i));
  const pool = new BlockFactorPool(2);
  try {
    const got = await pool.factorAll(jobs);
    assert.equal(pool.fallbackReason, null);
    const want = jobs.map(factorBlockInverse);
    assert.equal(got.length, want.length);
    got.forEach((g, i) => {
      assert.deepEqual(g.failure, want[i].failure, `job ${i}`);
      assert.deepEqual(g.inverse ? Array.from(g.inverse) : null, want[i].inverse ? Array.from(want[i].inverse!) : null, `job ${i}`);
    });
    assert.equal(got[1].inverse, null, "the rank-30 block fails");
  } finally {
    await pool.close();
  }
});

test("BlockFactorPool of size 0 factors in the calling thread; bad sizes and shapes are refused", async () => {
  const b = 80;
  const j = job(gramBlock(b, 100, 3), b, 1);
  const got = await new BlockFactorPool(0).factorAll([j, j]);
  assert.deepEqual(Array.from(got[0].inverse!), Array.from(factorBlockInverse(j).inverse!));
  assert.throws(() => new BlockFactorPool(-1), /size must be an integer/);
  assert.throws(() => factorBlockInverse({ ...j, b: 79 }), /block has 6400 values/);
});
