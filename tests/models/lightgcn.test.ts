import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { layerMean, LightGcn, lightgcnLossGrad, normalizedGraph, propagate } from "../../lib/models/lightgcn.ts";
import type { PairBatch } from "../../lib/models/nn/negatives.ts";
import { gradCheck, randomParams } from "./gradcheck.ts";
import { checkSubsetFoldIn } from "./shared.ts";
import { plantedDataset } from "./synthetic.ts";

const m = InteractionMatrix.fromTriplets(3, 4, [0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2, 3], [1, 1, 0.5, 1, 1, 0.25, 1]);

test("propagate equals the dense symmetric-normalised adjacency product (float64, rel 1e-12)", () => {
  const graph = normalizedGraph(m);
  const n = 7;
  const A = new Float64Array(n * n);
  const degU = [2, 1.5, 2.25];
  const degI = m.itemCounts();
  for (let u = 0; u < 3; u++) {
    const items = m.rowItems(u);
    const vals = m.rowValues(u);
    items.forEach((i, t) => {
      const a = vals[t] / Math.sqrt(degU[u] * degI[i]);
      A[u * n + 3 + i] = a;
      A[(3 + i) * n + u] = a;
    });
  }
  const d = 2;
  const src = randomParams(n * d, 1, 5);
  const dst = new Float64Array(n * d);
  propagate(graph, src, dst, d);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += A[r * n + c] * src[c * d + k];
      assert.ok(Math.abs(s - dst[r * d + k]) <= 1e-12 * Math.max(1, Math.abs(s)), `row ${r}: ${s} vs ${dst[r * d + k]}`);
    }
  }
  // Layer mean with K = 1 is (E + ÂE) / 2.
  const F = layerMean(src, graph, d, 1);
  for (let t = 0; t < n * d; t++) assert.ok(Math.abs(F[t] - (src[t] + dst[t]) / 2) < 1e-12);
});

for (const K of [1, 3]) {
  test(`LightGCN gradient through ${K} propagation layers matches central differences (float64, rel ≤ 1e-6)`, () => {
    const graph = normalizedGraph(m);
    const batch: PairBatch = {
      users: Int32Array.from([0, 1, 2, 2]), pos: Int32Array.from([1, 2, 3, 0]), neg: Int32Array.from([3, 0, 1, 1]),
      weights: Float64Array.from([1, 0.5, 1, 0.25]), count: 4,
    };
    const d = 3;
    const r = gradCheck(randomParams(7 * d, 0.7, 11), (p, g) => lightgcnLossGrad(p, g, graph, d, K, batch, 0.1));
    assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
    assert.ok(r.maxCoordinateError < 1e-6, `max coordinate error ${r.maxCoordinateError}`);
  });
}

test("LightGCN learns planted clusters; propagation fold-in scores users outside its graph", async () => {
  const ds = plantedDataset();
  const model = new LightGcn({ dim: 8, layers: 2, epochs: 60, lr: 0.05, batchSize: 1024 });
  await model.fit(ds.train, { seed: 4 });
  const r = await evaluate(model, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 70, `HR@10 ${r.metrics["HR@10"]}`);
  await checkSubsetFoldIn(() => new LightGcn({ dim: 8, layers: 2, epochs: 80, lr: 0.05, batchSize: 512 }));
  assert.throws(() => new LightGcn({ layers: 0 }), /layers must be a positive integer/);
});
