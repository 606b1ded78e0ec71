import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { MultVae, vaeBatchOf, vaeLayout, vaeLossGrad } from "../../lib/models/multvae.ts";
import { Rng } from "../../lib/random.ts";
import { gradCheck, randomParams } from "./gradcheck.ts";
import { checkSubsetFoldIn } from "./shared.ts";
import { plantedDataset } from "./synthetic.ts";

function toF64<T extends { inVal: ArrayLike<number>; tVal: ArrayLike<number> }>(b: T): T {
  return { ...b, inVal: Float64Array.from(b.inVal), tVal: Float64Array.from(b.tVal) };
}

for (const hidden of [[], [5], [6, 4]]) {
  test(`MultVAE gradient matches central differences, hidden [${hidden}] (float64, rel ≤ 1e-6)`, () => {
    const m = InteractionMatrix.fromTriplets(3, 7, [0, 0, 0, 1, 1, 2, 2, 2], [0, 3, 6, 1, 2, 4, 5, 0], [1, 0.5, 1, 1, 0.2, 1, 1, 0.7]);
    const shape = { numItems: 7, hidden, latent: 3 };
    const rng = new Rng(4);
    const eps = Float64Array.from({ length: 3 * 3 }, () => 2 * rng.next() - 1);
    const batch = toF64(vaeBatchOf(m, [0, 1, 2], 0.3, rng, eps));
    const r = gradCheck(randomParams(vaeLayout(shape).size, 0.4, 9), (p, g) => vaeLossGrad(p, g, shape, batch, 0.3, 0.05));
    assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError}`);
    assert.ok(r.maxCoordinateError < 1e-6, `max coordinate error ${r.maxCoordinateError}`);
  });
}

test("MultVAE input is L2-normalised, dropout keeps expected scale", () => {
  const m = InteractionMatrix.fromTriplets(1, 4, [0, 0], [1, 3], [3, 4]);
  const b = vaeBatchOf(m, [0], 0, null, null);
  assert.deepEqual(Array.from(b.inVal), [0.6000000238418579, 0.800000011920929]);
  assert.deepEqual(Array.from(b.tVal), [3, 4]);
});

test("MultVAE learns planted clusters and scores users outside its training matrix", async () => {
  const ds = plantedDataset();
  const m = new MultVae({ hidden: [16], latent: 8, epochs: 40, batchSize: 50, lr: 0.01 });
  await m.fit(ds.train, { seed: 2 });
  const r = await evaluate(m, ds, { split: "test" });
  assert.ok(r.metrics["HR@10"] > 70, `HR@10 ${r.metrics["HR@10"]}`);
  await checkSubsetFoldIn(() => new MultVae({ hidden: [16], latent: 8, epochs: 60, batchSize: 20, lr: 0.01 }));
  assert.throws(() => new MultVae({ dropout: 1 }), /dropout must be in \[0, 1\)/);
});
