import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { MatrixFactorization, mfLayout, mfLossGrad } from "../../lib/models/mf.ts";
import type { PairBatch } from "../../lib/models/nn/negatives.ts";
import { gradCheck, randomParams } from "./gradcheck.ts";
import { plantedDataset } from "./synthetic.ts";
import { checkSubsetFoldIn } from "./shared.ts";

const shape = { numUsers: 4, numItems: 6, dim: 3 };
const batch: PairBatch = {
  users: Int32Array.from([0, 1, 3, 0, 2]), pos: Int32Array.from([1, 2, 5, 4, 0]), neg: Int32Array.from([3, 0, 1, 2, 5]),
  weights: Float64Array.from([1, 0.3, 1, 0.7, 2]), count: 5,
};

for (const loss of ["bpr", "logistic"] as const) {
  test(`MF ${loss} gradient matches central differences (float64, rel ≤ 1e-6)`, () => {
    const p = randomParams(mfLayout(shape).size, 0.5, 3);
    const r = gradCheck(p, (q, g) => mfLossGrad(q, g, shape, batch, loss, 0.1));
    assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
    assert.ok(r.maxCoordinateError < 1e-6, `max coordinate error ${r.maxCoordinateError}`);
  });
}

test("MF learns planted clusters and is deterministic for a seed", async () => {
  const ds = plantedDataset();
  const fit = async () => {
    const m = new MatrixFactorization({ dim: 8, epochs: 30, lr: 0.01, batchSize: 256 });
    await m.fit(ds.train, { seed: 5 });
    return m;
  };
  const a = await fit();
  const b = await fit();
  const outA = new Float32Array(10 * ds.train.numItems);
  const outB = new Float32Array(10 * ds.train.numItems);
  await a.scoreBlock(ds.train, 0, 10, outA);
  await b.scoreBlock(ds.train, 0, 10, outB);
  assert.deepEqual(outA, outB);
  const r = await evaluate(a, ds, { split: "test" });
  // Random ranking of 60 items (12 seen) puts a held-out pair in the top 10 about 38% of the time.
  assert.ok(r.metrics["HR@10"] > 70, `HR@10 ${r.metrics["HR@10"]}`);
});

test("MF trained on a user subset scores every real user by ridge fold-in", async () => {
  await checkSubsetFoldIn(() => new MatrixFactorization({ dim: 8, epochs: 40, lr: 0.01, batchSize: 128 }));
});

test("MF rejects bad configuration and a context with other items", async () => {
  assert.throws(() => new MatrixFactorization({ dim: 0 }), /dim must be a positive integer/);
  const ds = plantedDataset(20, 12, 2, 6);
  const m = new MatrixFactorization({ dim: 2, epochs: 1 });
  await assert.rejects(m.scoreBlock(ds.train, 0, 1, new Float32Array(12)), /call fit first/);
  await m.fit(ds.train);
  const other = plantedDataset(20, 16, 2, 6).train;
  await assert.rejects(m.scoreBlock(other, 0, 1, new Float32Array(16)), /16 items/);
});
