import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix } from "ml-matrix";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { GFCF } from "../../lib/models/gf-cf.ts";
import { modelEntry } from "../../lib/models/registry.ts";
import { FitScratch } from "../../lib/models/scratch.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { dense, fullSvd, normalised, randomInteractions, relativeError } from "./graph-filter-reference.ts";
import { plantedDataset } from "./synthetic.ts";

/** Eq. 12 in float64: r_u·(R̃ᵀR̃ + α·D_I^{-1/2} V_k V_kᵀ D_I^{1/2}), V_k from ml-matrix's full SVD of R̃. */
function reference(train: Matrix, context: Matrix, alpha: number, k: number): Matrix {
  const rt = normalised(train, 0.5, 0.5);
  const di = train.sum("column");
  const vk = fullSvd(rt).v.subMatrix(0, train.columns - 1, 0, k - 1);
  const left = Matrix.diag(di.map((d) => (d > 0 ? d ** -0.5 : 0))).mmul(vk);
  const right = Matrix.diag(di.map((d) => Math.sqrt(d))).mmul(vk);
  const filter = rt.transpose().mmul(rt).add(left.mmul(right.transpose()).mul(alpha));
  return context.mmul(filter);
}

test("gf-cf equals its float64 definition (randomized top-k against ml-matrix's full SVD), scores on a new context", async () => {
  const backend = await getBackend({ device: "cpu" });
  const train = randomInteractions(50, 30, 0.25, 1);
  const context = randomInteractions(7, 30, 0.3, 2);
  const scratch = new FitScratch();
  let worst = 0;
  for (const [alpha, k] of [[0, 4], [0.3, 4], [1, 8]] as const) {
    const m = new GFCF({ alpha, k, maxK: 8, iterations: 40, backend, scratch });
    await m.fit(train, { seed: 5 });
    const out = new Float32Array(7 * 30);
    await m.scoreBlock(context, 0, 7, out);
    const err = relativeError(out, reference(dense(train), dense(context), alpha, k));
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-5, `α ${alpha}, k ${k}: relative error ${err}`);
  }
  console.log(`gf-cf: worst relative error ${worst.toExponential(2)}`);
});

test("gf-cf without a grid's scratch (the filter formed over P̃ itself) and its ideal term by ragged row blocks: the same scores", async () => {
  const backend = await getBackend({ device: "cpu" });
  const train = randomInteractions(50, 30, 0.25, 1);
  const context = randomInteractions(7, 30, 0.3, 2);
  const want = reference(dense(train), dense(context), 0.3, 4);
  for (const filterBlockRows of [undefined, 7, 1]) {
    const m = new GFCF({ alpha: 0.3, k: 4, maxK: 8, iterations: 40, backend, filterBlockRows });
    await m.fit(train, { seed: 5 });
    const out = new Float32Array(7 * 30);
    await m.scoreBlock(context, 0, 7, out);
    const err = relativeError(out, want);
    assert.ok(err <= 1e-5, `filterBlockRows ${filterBlockRows}: relative error ${err}`);
  }
  assert.throws(() => new GFCF({ alpha: 0.3, k: 4, filterBlockRows: 0 }), /filterBlockRows must be a positive integer, got 0/);
});

test("gf-cf: an item nobody trained on scores 0 and gets no NaN", async () => {
  const backend = await getBackend({ device: "cpu" });
  const base = randomInteractions(20, 10, 0.4, 3);
  // Widen to 11 items: item 10 has no training interactions.
  const train = new InteractionMatrix(20, 11, base.indptr, base.indices, base.values);
  const m = new GFCF({ alpha: 0.5, k: 3, backend });
  await m.fit(train);
  const out = new Float32Array(20 * 11);
  await m.scoreBlock(train, 0, 20, out);
  assert.ok(out.every(Number.isFinite));
  for (let u = 0; u < 20; u++) assert.equal(out[u * 11 + 10], 0);
});

test("gf-cf through the registry: grid of α × k clamped to the rank bound, planted clusters recovered", async () => {
  const ds = plantedDataset();
  const entry = modelEntry("gf-cf");
  const grid = entry.gridFor(ds);
  assert.ok(grid.length > 1 && grid.every((p) => Number(p.k) <= 60), JSON.stringify(grid));
  assert.ok(entry.gridFor(ds, { quick: true }).length <= 2);
  const m = entry.build({ alpha: 0.3, k: 4 }, { grid });
  await m.fit(ds.train);
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 65, `HR@10 ${r.metrics["HR@10"]}`);
  assert.deepEqual(m.hyperParameters(), { alpha: 0.3, k: 4 });
  assert.throws(() => entry.build({ alpha: -1, k: 4 }), /α must be finite and ≥ 0/);
});
