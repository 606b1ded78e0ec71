import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { NeuMf, neumfLayout, neumfLossGrad, type PointBatch } from "../../lib/models/neumf.ts";
import { gradCheck, randomParams } from "./gradcheck.ts";
import { checkSubsetFoldIn } from "./shared.ts";
import { plantedDataset } from "./synthetic.ts";

const batch: PointBatch = {
  users: Int32Array.from([0, 1, 2, 0, 1]), items: Int32Array.from([1, 4, 3, 0, 2]), labels: Float32Array.from([1, 0, 1, 0, 1]),
  weights: Float64Array.from([1, 1, 0.4, 1, 0.8]), count: 5,
};

for (const mlpLayers of [[], [4], [5, 3]]) {
  test(`NeuMF gradient matches central differences, MLP [${mlpLayers}] (float64, rel ≤ 1e-6)`, () => {
    const shape = { numUsers: 3, numItems: 5, gmfDim: 2, mlpDim: 3, mlpLayers };
    // Offsets keep ReLU inputs away from 0, where the loss has a kink.
    const r = gradCheck(randomParams(neumfLayout(shape).size, 0.8, 13), (p, g) => neumfLossGrad(p, g, shape, batch, 0.1), Infinity, 1e-6);
    assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
    assert.ok(r.maxCoordinateError < 1e-6, `max coordinate error ${r.maxCoordinateError}`);
  });
}

test("NeuMF scores equal the logits of its training loss", async () => {
  const ds = plantedDataset(40, 20, 2, 6);
  const m = new NeuMf({ gmfDim: 4, mlpDim: 4, mlpLayers: [6, 3], epochs: 2, batchSize: 64 });
  await m.fit(ds.train, { seed: 1 });
  const out = new Float32Array(2 * 20);
  await m.scoreBlock(ds.train, 3, 5, out);
  const p = Float64Array.from((m as unknown as { params: Float32Array }).params);
  for (const [u, i] of [[3, 0], [4, 7], [3, 19]]) {
    const one: PointBatch = { users: Int32Array.of(u), items: Int32Array.of(i), labels: Float32Array.of(1), weights: Float64Array.of(1), count: 1 };
    const loss = neumfLossGrad(p, new Float64Array(p.length), m.shape, one, 0);
    const logit = -Math.log(Math.expm1(loss)); // loss = −log σ(z)
    assert.ok(Math.abs(logit - out[(u - 3) * 20 + i]) < 1e-4, `user ${u} item ${i}: ${logit} vs ${out[(u - 3) * 20 + i]}`);
  }
});

test("NeuMF learns planted clusters; gradient fold-in scores users outside its training matrix", async () => {
  const ds = plantedDataset();
  const m = new NeuMf({ gmfDim: 8, mlpDim: 8, mlpLayers: [8], epochs: 15, lr: 0.01, batchSize: 256 });
  await m.fit(ds.train, { seed: 2 });
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 70, `HR@10 ${r.metrics["HR@10"]}`);
  await checkSubsetFoldIn(() => new NeuMf({ gmfDim: 8, mlpDim: 8, mlpLayers: [8], epochs: 40, lr: 0.01, batchSize: 128 }));
  assert.throws(() => new NeuMf({ mlpLayers: [0] }), /MLP layer width must be a positive integer/);
});
