/**
 * `--train-on`: a sampled split is fitted on its kept users only (so models
 * with per-user parameters fold in every real user), summaries load as
 * weighted rows, and files over other items are refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../lib/data/registry.ts";
import { saveSplit } from "../../lib/data/split.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { loadTrainingMatrix } from "../../lib/cli/train-on.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { MatrixFactorization } from "../../lib/models/mf.ts";
import { makeSampler } from "../../lib/sampling/registry.ts";
import { expandSample } from "../../lib/sampling/sampler.ts";
import { withTempDir } from "../helpers.ts";

test("a sampled split trains on its kept users; per-user models then fold in every real user", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset("magazine");
    const sample = await makeSampler("user-random").sample(ds.train, { users: 300 }, 7);
    const path = join(dir, "s.split");
    saveSplit({ ...ds, train: expandSample(sample, ds.train.numUsers) }, path);
    const { matrix, summary } = await loadTrainingMatrix(path, ds);
    assert.equal(summary, false);
    assert.equal(matrix.numUsers, 300);
    assert.equal(matrix.numItems, ds.itemIds.length);
    for (let r = 0; r < 300; r++) {
      const u = sample.keptUsers[r];
      assert.deepEqual([...matrix.rowItems(r)], [...ds.train.rowItems(u)], `row ${r} is user ${u}'s training row`);
    }
    // Fitted on 300 users, MF scores all 3092 real users by fold-in: a user's
    // scores follow its own context, not an untrained embedding.
    const mf = new MatrixFactorization({ dim: 8, epochs: 5 });
    await mf.fit(matrix);
    const kept = new Set(sample.keptUsers);
    const u = [...Array(ds.train.numUsers).keys()].find((x) => !kept.has(x) && ds.train.rowNnz(x) > 0)!;
    const other = [...Array(ds.train.numUsers).keys()].find((x) => x !== u && ds.train.rowNnz(x) > 0 && ds.train.rowItems(x)[0] !== ds.train.rowItems(u)[0])!;
    const ni = ds.itemIds.length;
    const a = new Float32Array(ni);
    const b = new Float32Array(ni);
    await mf.scoreBlock(ds.train, u, u + 1, a);
    // The same user slot with another user's context scores differently: fold-in reads the context.
    const swapped = ds.train.selectUsers(Int32Array.from([...Array(ds.train.numUsers).keys()].map((x) => (x === u ? other : x))));
    await mf.scoreBlock(swapped, u, u + 1, b);
    assert.notDeepEqual(a, b);
    const r = await evaluate(mf, ds, { aucNegatives: 0 });
    assert.equal(r.users, ds.train.numUsers);
    assert.ok(Number.isFinite(r.metrics["HR@100"]) && r.metrics["HR@100"] > 0);
  });
});

test("a matrix over items the dataset lacks is refused, naming them", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset("magazine");
    const m = InteractionMatrix.fromTriplets(2, 2, [0, 1], [0, 1]);
    const path = join(dir, "other.split");
    saveSplit({ name: "other", train: m, validation: m, test: m, userIds: ["a", "b"], itemIds: [ds.itemIds[0], "no-such-item"], duplicates: "sum" }, path);
    await assert.rejects(loadTrainingMatrix(path, ds), /1 item ids are not in dataset 'magazine' \(e\.g\. no-such-item\)/);
  });
});
