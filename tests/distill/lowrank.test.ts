/**
 * Low-rank logits (lib/distill/lowrank.ts): the initialisation is the
 * truncated SVD of the initial rows (exact at full rank, the optimal error
 * below it), and dU = dL·Vᵀ, dV = Uᵀ·dL match central finite differences.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { initLowRank, lowRankBackward, lowRankProduct } from "../../lib/distill/lowrank.ts";
import { finiteDiff, lcg, relErr } from "../helpers.ts";

const MU = 5;
const ITEMS = 11;

function binaryRows(seed: number): Float64Array {
  const rand = lcg(seed);
  return new Float64Array(MU * ITEMS).map(() => (rand() < 0.3 ? 1 : 0));
}

test("initLowRank: U·V is X₀ at full rank and the best rank-d approximation below it", () => {
  const x0 = binaryRows(3);
  const full = lowRankProduct(initLowRank(x0, MU, ITEMS, MU));
  assert.ok(relErr(full, x0) <= 1e-12, `full rank: ${relErr(full, x0)}`);
  const rows = Array.from({ length: MU }, (_, r) => Array.from(x0.subarray(r * ITEMS, (r + 1) * ITEMS)));
  const sv = new SingularValueDecomposition(new Matrix(rows), { autoTranspose: true }).diagonal;
  for (const d of [1, 2, 3]) {
    const lr = initLowRank(x0, MU, ITEMS, d);
    assert.equal(lr.u.length, MU * d);
    assert.equal(lr.v.length, d * ITEMS);
    let err = 0;
    const l = lowRankProduct(lr);
    for (let p = 0; p < l.length; p++) err += (l[p] - x0[p]) ** 2;
    // Eckart–Young: the squared error is the sum of the dropped σ².
    const optimal = sv.slice(d).reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(err - optimal) <= 1e-9 * Math.max(1, optimal), `rank ${d}: ${err} vs ${optimal}`);
  }
  assert.throws(() => initLowRank(x0, MU, ITEMS, 6), /rank must be an integer in \[1, min\(μ, I\)\] = \[1, 5\], got 6/);
});

test("initLowRank: a rank above the rows' rank keeps U's direction and a zero V row (Adam can grow it)", () => {
  const x0 = new Float64Array(MU * ITEMS);
  x0[0] = 1;
  x0[ITEMS + 3] = 1; // rank 2
  const lr = initLowRank(x0, MU, ITEMS, 3);
  assert.ok(relErr(lowRankProduct(lr), x0) <= 1e-12);
  let uNorm = 0;
  for (let r = 0; r < MU; r++) uNorm += lr.u[r * 3 + 2] ** 2;
  assert.ok(Math.abs(uNorm - 1) < 1e-9, `third column of U has norm² ${uNorm}`);
  assert.ok(lr.v.subarray(2 * ITEMS).every((x) => x === 0));
});

test("lowRankBackward: dU and dV match central finite differences of a nonlinear loss in L = U·V", (t) => {
  const rand = lcg(8);
  const lr = initLowRank(binaryRows(5), MU, ITEMS, 3);
  for (let p = 0; p < lr.u.length; p++) lr.u[p] += 0.3 * (rand() - 0.5);
  const w = new Float64Array(MU * ITEMS).map(() => rand() - 0.5);
  // f(L) = Σ w ⊙ L² / 2 + Σ sin(L): dL = w ⊙ L + cos(L).
  const f = (l: Float64Array): number => l.reduce((s, x, p) => s + 0.5 * w[p] * x * x + Math.sin(x), 0);
  const dL = lowRankProduct(lr).map((x, p) => w[p] * x + Math.cos(x));
  const { dU, dV } = lowRankBackward(lr, dL);
  const u0 = lr.u;
  const v0 = lr.v;
  const fdU = finiteDiff((u) => f(lowRankProduct({ ...lr, u, v: v0 })), Float64Array.from(u0));
  const fdV = finiteDiff((v) => f(lowRankProduct({ ...lr, u: u0, v })), Float64Array.from(v0));
  const eU = relErr(dU, fdU);
  const eV = relErr(dV, fdV);
  t.diagnostic(`dU relative error ${eU.toExponential(2)}, dV relative error ${eV.toExponential(2)}`);
  assert.ok(eU <= 1e-5 && eV <= 1e-5, `dU ${eU}, dV ${eV}`);
});
