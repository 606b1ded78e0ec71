import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix } from "ml-matrix";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { modelEntry } from "../../lib/models/registry.ts";
import { FitScratch } from "../../lib/models/scratch.ts";
import { TurboCF, type TurboCFFilter } from "../../lib/models/turbo-cf.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { dense, normalised, randomInteractions, relativeError } from "./graph-filter-reference.ts";
import { plantedDataset } from "./synthetic.ts";

/** The paper's filters in float64, written as in the paper (not from the coefficient table). */
function reference(train: Matrix, context: Matrix, alpha: number, power: number, filter: TurboCFFilter): Matrix {
  const rt = normalised(train, alpha, 1 - alpha);
  const p = rt.transpose().mmul(rt).apply(function (this: Matrix, i: number, j: number) {
    this.set(i, j, this.get(i, j) ** power);
  });
  const p2 = p.mmul(p);
  const f = filter === 1 ? p : filter === 2 ? p.clone().mul(2).sub(p2) : p.clone().add(p2.mmul(p).mul(-1).add(p2.clone().mul(10)).sub(p.clone().mul(29)).mul(0.01));
  return context.mmul(f);
}

test("turbo-cf equals its float64 definition for each filter, α and s (shared powers across a grid)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const train = randomInteractions(40, 25, 0.3, 4);
  const context = randomInteractions(6, 25, 0.3, 5);
  const scratch = new FitScratch();
  let worst = 0;
  for (const [alpha, power] of [[0.5, 1], [0.3, 0.8], [0.7, 1.2]] as const) {
    for (const filter of [1, 2, 3] as const) {
      const m = new TurboCF({ alpha, power, filter, backend, scratch });
      await m.fit(train);
      const out = new Float32Array(6 * 25);
      await m.scoreBlock(context, 0, 6, out);
      const err = relativeError(out, reference(dense(train), dense(context), alpha, power, filter));
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-5, `α ${alpha}, s ${power}, filter ${filter}: relative error ${err}`);
    }
  }
  console.log(`turbo-cf: worst relative error ${worst.toExponential(2)}`);
});

test("turbo-cf through the registry: (α, s)-major grid of the three filters, planted clusters recovered", async () => {
  const ds = plantedDataset();
  const entry = modelEntry("turbo-cf");
  const grid = entry.gridFor(ds);
  assert.equal(grid.length, 48);
  assert.deepEqual(grid.slice(0, 3).map((p) => p.filter), [1, 2, 3]);
  assert.ok(entry.gridFor(ds, { quick: true }).length <= 2);
  const m = entry.build({ alpha: 0.5, power: 1, filter: 2 }, {});
  await m.fit(ds.train);
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 65, `HR@10 ${r.metrics["HR@10"]}`);
  assert.deepEqual(m.hyperParameters(), { alpha: 0.5, power: 1, filter: 2 });
  assert.throws(() => entry.build({ alpha: 0.5, power: 1, filter: 4 }), /filter must be 1, 2 or 3/);
});
