import assert from "node:assert/strict";
import { test } from "node:test";
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { loadPaperDataset } from "../../lib/data/paper.ts";
import { evaluate, sampleAucNegatives, splitView } from "../../lib/eval/evaluate.ts";
import { randomTieOrder } from "../../lib/ranking/top-k.ts";
import { gridSearch } from "../../lib/eval/grid.ts";
import type { Recommender } from "../../lib/models/model.ts";
import { PopRec } from "../../lib/models/pop.ts";
import { MAGAZINE_DIR } from "../helpers.ts";

/** A model with fixed scores (item index order reversed: item 0 best). */
class FixedScores implements Recommender {
  readonly name = "fixed";
  constructor(private readonly scores: number[]) {}
  fit(): Promise<void> {
    return Promise.resolve();
  }
  scoreBlock(_c: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    for (let r = 0; r < end - start; r++) out.set(this.scores, r * this.scores.length);
    return Promise.resolve();
  }
  hyperParameters() {
    return { scale: this.scores[0] };
  }
}

function toy(): Dataset {
  // 3 users × 5 items. User 2 has no validation item.
  const m = (pairs: [number, number][]) => InteractionMatrix.fromTriplets(3, 5, pairs.map((p) => p[0]), pairs.map((p) => p[1]));
  return {
    name: "toy",
    train: m([[0, 0], [1, 1], [2, 2]]),
    validation: m([[0, 1], [1, 0]]),
    test: m([[0, 2], [1, 3], [2, 4]]),
    userIds: ["a", "b", "c"],
    itemIds: ["i0", "i1", "i2", "i3", "i4"],
    duplicates: "sum",
  };
}

test("validation masks train items; users without targets add 0 but count", async () => {
  const ds = toy();
  const model = new FixedScores([5, 4, 3, 2, 1]);
  const r = await evaluate(model, ds, { split: "validation", ks: [1], aucNegatives: 0 });
  // user 0: train {0} masked → top-1 is item 1 = target: hit. user 1: train {1} masked → item 0 = target: hit.
  // user 2: no validation item → 0. Mean over all 3 users.
  assert.equal(r.metrics["HR@1"], (100 * 2) / 3);
  assert.equal(r.usersWithTargets, 2);
  assert.equal(r.users, 3);
});

test("test context is train + validation, both masked", async () => {
  const ds = toy();
  const model = new FixedScores([5, 4, 3, 2, 1]);
  const r = await evaluate(model, ds, { split: "test", ks: [1], aucNegatives: 0 });
  // user 0: masks {0,1} → top item 2 = target. user 1: masks {0,1} → 2, target 3: miss. user 2: mask {2} → 0: miss.
  assert.equal(r.metrics["HR@1"], 100 / 3);
  const v = splitView(ds, "test");
  assert.deepEqual([...v.context.rowItems(0)], [0, 1]);
});

test("ties: 'index' ranks equal scores by item index, 'random' by a seeded item order", async () => {
  // 2 users × 40 items, every score equal; user u's test items are 30…39 + u (nothing masked but item 0).
  const n = 40;
  const m = (pairs: [number, number][]) => InteractionMatrix.fromTriplets(2, n, pairs.map((p) => p[0]), pairs.map((p) => p[1]));
  const targets: [number, number][] = [];
  for (let u = 0; u < 2; u++) for (let i = 30; i < 40 - u; i++) targets.push([u, i + u]);
  const ds: Dataset = {
    name: "ties", train: m([[0, 0], [1, 0]]), validation: m([]), test: m(targets),
    userIds: ["a", "b"], itemIds: Array.from({ length: n }, (_, i) => `i${i}`), duplicates: "sum",
  };
  const model = new FixedScores(new Array(n).fill(1));
  const byIndex = await evaluate(model, ds, { ks: [10], aucNegatives: 0 });
  assert.equal(byIndex.metrics["HR@10"], 0); // items 1…10 win every tie
  const r = await evaluate(model, ds, { ks: [10], aucNegatives: 0, ties: "random", tieSeed: 5 });
  // Expected: the first 10 unmasked items of the seeded order, against each user's targets.
  const order = [...randomTieOrder(n, 5).rank.entries()].sort((a, b) => a[1] - b[1]).map(([item]) => item).filter((i) => i !== 0).slice(0, 10);
  let hr = 0;
  for (let u = 0; u < 2; u++) {
    const t = targets.filter((p) => p[0] === u).map((p) => p[1]);
    hr += order.filter((i) => t.includes(i)).length / Math.min(t.length, 10);
  }
  assert.equal(r.metrics["HR@10"], (100 * hr) / 2);
  assert.ok(r.metrics["HR@10"] > 0);
  await assert.rejects(evaluate(model, ds, { ties: "first" as never }), /unknown tie rule 'first'/);
});

test("AUC negatives avoid train and test items, may be validation items, and are seeded", () => {
  const ds = toy();
  const ex = splitView(ds, "test").aucExclude;
  const a = sampleAucNegatives(ex, 2, 1);
  const b = sampleAucNegatives(ex, 2, 1);
  assert.deepEqual(a.map((x) => [...x]), b.map((x) => [...x]));
  for (let u = 0; u < 3; u++) {
    assert.equal(a[u].length, 2);
    for (const i of a[u]) assert.ok(!ex.has(u, i));
  }
  // At most the free items are returned.
  assert.equal(sampleAucNegatives(ex, 50, 1)[0].length, 3);
});

test("NaN scores are an error naming the model and user", async () => {
  await assert.rejects(evaluate(new FixedScores([1, NaN, 0, 0, 0]), toy()), /model 'fixed' gave NaN for user 0, item 1/);
});

test("blocked scoring gives the same metrics for any block size", async () => {
  const ds = toy();
  const model = new FixedScores([1, 3, 2, 5, 4]);
  const a = await evaluate(model, ds, { blockSize: 1 });
  const b = await evaluate(model, ds, { blockSize: 3 });
  assert.deepEqual(a.metrics, b.metrics);
});

test("PopRec reproduces the independent reimplementation on Magazine (test)", async () => {
  const ds = await loadPaperDataset(MAGAZINE_DIR);
  const model = new PopRec();
  await model.fit(ds.train);
  const { metrics } = await evaluate(model, ds, { split: "test" });
  const near = (k: string, want: number, tol: number) =>
    assert.ok(Math.abs(metrics[k] - want) <= tol, `${k} = ${metrics[k]}, want ${want} ± ${tol}`);
  near("HR@10", 14.01, 0.05);
  near("NDCG@10", 8.12, 0.05);
  near("HR@100", 58.27, 0.05);
  near("AUC", 0.842, 0.005);
});

test("gridSearch picks the best validation metric and evaluates it on test", async () => {
  const ds = toy();
  const cands = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]];
  const r = await gridSearch(ds, cands, (s) => new FixedScores(s), { metric: "HR@1", test: true, ks: [1, 10], aucNegatives: 0 });
  assert.deepEqual(r.best.params, [5, 4, 3, 2, 1]);
  assert.ok(r.test);
  await assert.rejects(gridSearch(ds, cands, (s) => new FixedScores(s), { metric: "XX@1" }), /unknown metric 'XX@1'/);
});
