/** tuneModel: the registry's grid (the summary grid on summaries), early stopping injected, the scratch released. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EASE_LAMBDAS, SUMMARY_EASE_LAMBDAS } from "../../lib/models/registry.ts";
import { tuneModel } from "../../lib/tuning/tune.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(120, 30, 3, 8, 2);

test("tuneModel searches the registry's grid, and the summary grid when fitting on a summary", async () => {
  const real = await tuneModel(ds, "ease", { aucNegatives: 0, onSkip: () => {} });
  assert.deepEqual(real.points.map((p) => p.params.lambda), [...EASE_LAMBDAS]);
  const summary = await tuneModel(ds, "ease", { summary: true, aucNegatives: 0, onSkip: () => {} });
  assert.deepEqual([...summary.points, ...summary.skipped].map((p) => p.params.lambda).sort((a, b) => Number(a) - Number(b)), [...SUMMARY_EASE_LAMBDAS]);
  const fixed = await tuneModel(ds, "ease", { grid: [{ lambda: 7 }], aucNegatives: 0 });
  assert.deepEqual(fixed.points.map((p) => p.params), [{ lambda: 7 }]);
});

test("tuneModel gives gradient-trained models early stopping on validation unless told not to", async () => {
  const grid = [{ epochs: 2, lr: 0.01, batchSize: 64 }];
  const withStop = await tuneModel(ds, "bias-only", { grid, keepBest: true, aucNegatives: 0 });
  assert.equal(typeof (withStop.model as { earlyStopping?: { evaluate: unknown } }).earlyStopping?.evaluate, "function");
  const without = await tuneModel(ds, "bias-only", { grid, keepBest: true, aucNegatives: 0, earlyStopping: false });
  assert.equal((without.model as { earlyStopping?: unknown }).earlyStopping, undefined);
});
