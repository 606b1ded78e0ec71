/**
 * Noise injection: exactly round(level/100 · items) flips per user (the
 * symmetric difference with the clean row), training rows only, seeded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { flipsPerUser, injectNoise, noisyDataset } from "../../lib/sampling/noise.ts";
import { plantedDataset } from "../models/synthetic.ts";

/** Items in exactly one of the two rows. */
function symmetricDifference(a: Int32Array, b: Int32Array): number[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...[...sa].filter((i) => !sb.has(i)), ...[...sb].filter((i) => !sa.has(i))];
}

test("each user gets exactly round(level% · items) flips; kept entries keep their values", () => {
  // 3 users × 50 items; user 1 has a summed duplicate (value 2), user 2 is empty.
  const train = InteractionMatrix.fromTriplets(3, 50, [0, 0, 0, 1, 1, 1], [1, 7, 20, 3, 3, 49]);
  for (const level of [0, 1, 2, 5, 10, 50, 100]) {
    const k = flipsPerUser(level, 50);
    assert.equal(k, Math.round((level / 100) * 50));
    const r = injectNoise(train, level, 7);
    assert.equal(r.flipsPerUser, k);
    let added = 0;
    let removed = 0;
    for (let u = 0; u < 3; u++) {
      const diff = symmetricDifference(train.rowItems(u), r.train.rowItems(u));
      assert.equal(diff.length, k, `level ${level} user ${u}`);
      for (const i of diff) (train.has(u, i) ? removed++ : added++);
      const items = Array.from(r.train.rowItems(u));
      for (let p = 0; p < items.length; p++) {
        const i = items[p];
        const v = r.train.rowValues(u)[p];
        if (train.has(u, i)) assert.equal(v, train.rowValues(u)[Array.from(train.rowItems(u)).indexOf(i)]);
        else assert.equal(v, 1);
      }
    }
    assert.equal(r.added, added);
    assert.equal(r.removed, removed);
  }
  // At 100% every item flips: the row becomes the complement.
  const all = injectNoise(train, 100, 1).train;
  assert.equal(all.rowNnz(0), 47);
  assert.equal(all.rowNnz(2), 50);
});

test("noisy datasets change only the training rows, deterministically per seed", () => {
  const ds: Dataset = plantedDataset(40, 200, 4, 12, 3);
  const noisy = noisyDataset(ds, 2, 11);
  assert.equal(noisy.validation, ds.validation);
  assert.equal(noisy.test, ds.test);
  assert.notEqual(noisy.train, ds.train);
  for (let u = 0; u < 40; u++) assert.equal(symmetricDifference(ds.train.rowItems(u), noisy.train.rowItems(u)).length, 4);
  assert.deepEqual(noisyDataset(ds, 2, 11).train.indices, noisy.train.indices);
  assert.notDeepEqual(noisyDataset(ds, 2, 12).train.indices, noisy.train.indices);
  assert.equal(noisyDataset(ds, 0, 11), ds, "level 0 is the clean dataset");
  assert.throws(() => injectNoise(ds.train, -1, 1), /noise level must be a percentage in \[0, 100\], got -1/);
  assert.throws(() => injectNoise(ds.train, 101, 1), /percentage/);
  assert.throws(() => injectNoise(ds.train, Number.NaN, 1), /percentage/);
});

test("flips are spread uniformly over items (chi-square sanity on 2000 users)", () => {
  const train = InteractionMatrix.empty(2000, 20);
  const r = injectNoise(train, 25, 5); // 5 of 20 items per user
  const counts = r.train.itemUserCounts();
  const expected = (2000 * 5) / 20;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  // 19 degrees of freedom: P(χ² > 43.8) ≈ 0.001.
  assert.ok(chi < 43.8, `chi-square ${chi}`);
});
