import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { BiasOnly, biasLayout, biasLossGrad } from "../../lib/models/bias-only.ts";
import type { PairBatch } from "../../lib/models/nn/negatives.ts";
import { gradCheck, randomParams } from "./gradcheck.ts";
import { checkSubsetFoldIn } from "./shared.ts";
import { plantedDataset } from "./synthetic.ts";

test("Bias-only gradient matches central differences (float64, rel ≤ 1e-6)", () => {
  const shape = { numUsers: 3, numItems: 5 };
  const batch: PairBatch = {
    users: Int32Array.from([0, 1, 2, 2]), pos: Int32Array.from([1, 2, 4, 0]), neg: Int32Array.from([3, 0, 1, 1]),
    weights: Float64Array.from([1, 0.25, 1, 0.5]), count: 4,
  };
  const r = gradCheck(randomParams(biasLayout(shape).size, 0.5, 2), (p, g) => biasLossGrad(p, g, shape, batch, 0.05));
  assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
  assert.ok(r.maxCoordinateError < 1e-6, `max coordinate error ${r.maxCoordinateError}`);
});

test("Bias-only ranks items like their popularity", async () => {
  const ds = plantedDataset();
  const m = new BiasOnly({ epochs: 30, lr: 0.05, batchSize: 256 });
  await m.fit(ds.train, { seed: 1 });
  const out = new Float32Array(ds.train.numItems);
  await m.scoreBlock(ds.train, 0, 1, out);
  const pop = ds.train.itemCounts();
  // Spearman-like check: the most popular item outranks the least popular one.
  let hi = 0;
  let lo = 0;
  for (let i = 1; i < pop.length; i++) {
    if (pop[i] > pop[hi]) hi = i;
    if (pop[i] < pop[lo]) lo = i;
  }
  assert.ok(out[hi] > out[lo], `score of most popular ${out[hi]} vs least ${out[lo]}`);
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["AUC"] > 0.5, `AUC ${r.metrics["AUC"]}`);
});

test("Bias-only scores unseen users (no fold-in needed)", async () => {
  // Planted clusters are balanced, so popularity alone is near random; only check it runs and is finite.
  const ds = plantedDataset();
  const m = new BiasOnly({ epochs: 5 });
  await m.fit(ds.train.selectUsers([0, 1, 2, 3, 4]), { seed: 1 });
  const out = new Float32Array(3 * ds.train.numItems);
  await m.scoreBlock(ds.train, 10, 13, out);
  assert.ok(out.every(Number.isFinite));
  assert.deepEqual(out.subarray(0, ds.train.numItems), out.subarray(ds.train.numItems, 2 * ds.train.numItems));
  assert.throws(() => new BiasOnly({ epochs: 0 }), /epochs must be a positive integer/);
  assert.ok(await checkSubsetFoldIn(() => new BiasOnly({ epochs: 5 }), 0) >= 0);
});
