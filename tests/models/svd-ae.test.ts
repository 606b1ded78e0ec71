import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix } from "ml-matrix";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { modelEntry } from "../../lib/models/registry.ts";
import { FitScratch } from "../../lib/models/scratch.ts";
import { SVDAE } from "../../lib/models/svd-ae.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { dense, fullSvd, normalised, randomInteractions, relativeError } from "./graph-filter-reference.ts";
import { plantedDataset } from "./synthetic.ts";

/** R̃_ctx · V_k Σ_k⁻¹ U_kᵀ · R in float64, from ml-matrix's full SVD of R̃ (the paper's formula as written). */
function reference(train: Matrix, context: Matrix, k: number): Matrix {
  const rt = normalised(train, 0.5, 0.5);
  const { sigma, u, v } = fullSvd(rt);
  const vk = v.subMatrix(0, v.rows - 1, 0, k - 1);
  const uk = u.subMatrix(0, u.rows - 1, 0, k - 1);
  const pinv = vk.mmul(Matrix.diag(sigma.slice(0, k).map((s) => 1 / s))).mmul(uk.transpose());
  return normalised(context, 0.5, 0).mmul(Matrix.diag(train.sum("column").map((d) => (d > 0 ? d ** -0.5 : 0)))).mmul(pinv).mmul(train);
}

test("svd-ae equals its float64 definition (randomized rank-k against ml-matrix's full SVD), scores on a new context", async () => {
  const backend = await getBackend({ device: "cpu" });
  const train = randomInteractions(50, 30, 0.25, 6);
  const context = randomInteractions(7, 30, 0.3, 7);
  const scratch = new FitScratch();
  let worst = 0;
  for (const k of [3, 6, 10]) {
    const m = new SVDAE({ k, maxK: 10, iterations: 60, backend, scratch });
    await m.fit(train, { seed: 2 });
    const out = new Float32Array(7 * 30);
    await m.scoreBlock(context, 0, 7, out);
    const err = relativeError(out, reference(dense(train), dense(context), k));
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-5, `k ${k}: relative error ${err}`);
  }
  console.log(`svd-ae: worst relative error ${worst.toExponential(2)}`);
});

test("svd-ae with full rank reproduces the training rows it was fitted on (R̃R̃⁺ projects onto R̃'s column space)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const train = randomInteractions(12, 30, 0.4, 8);
  const m = new SVDAE({ k: 12, backend });
  await m.fit(train);
  const out = new Float32Array(12 * 30);
  await m.scoreBlock(train, 0, 12, out);
  const err = relativeError(out, dense(train));
  assert.ok(err <= 1e-4, `relative error ${err}`);
});

test("svd-ae through the registry: k grid clamped to the rank bound, planted clusters recovered", async () => {
  const ds = plantedDataset();
  const entry = modelEntry("svd-ae");
  const grid = entry.gridFor(ds);
  assert.deepEqual(grid.map((p) => p.k), [16, 32, 60]);
  const m = entry.build({ k: 4 }, { grid });
  await m.fit(ds.train);
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 65, `HR@10 ${r.metrics["HR@10"]}`);
  assert.deepEqual(m.hyperParameters(), { k: 4 });
});
