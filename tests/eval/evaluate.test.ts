import assert from "node:assert/strict";
import { test } from "node:test";
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { loadPaperDataset } from "../../lib/data/paper.ts";
import { evaluate, METRIC_FAMILIES, sampleAucNegatives, splitView } from "../../lib/eval/evaluate.ts";
import { tuneModel } from "../../lib/tuning/tune.ts";
import { plantedDataset } from "../models/synthetic.ts";
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

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test("by default only the paper's metrics, in the paper's order", async () => {
  const r = await evaluate(new FixedScores([5, 4, 3, 2, 1]), toy());
  assert.deepEqual(Object.keys(r.metrics), ["AUC", "HR@10", "NDCG@10", "PSP@10", "HR@100", "NDCG@100", "PSP@100"]);
  assert.equal(r.perUser, undefined);
  await assert.rejects(evaluate(new FixedScores([1, 2, 3, 4, 5]), toy(), { metrics: ["F1" as never] }), /unknown metric 'F1'/);
});

test("Recall, Precision, MAP, MRR and coverage on the toy test split, by hand", async () => {
  // Test rankings (context masked last, ties by index): user 0 [2,3,4,0,1] target 2;
  // user 1 [2,3,4,0,1] target 3; user 2 [0,1,3,4,2] target 4.
  const r = await evaluate(new FixedScores([5, 4, 3, 2, 1]), toy(), { ks: [1, 3], aucNegatives: 0, metrics: METRIC_FAMILIES });
  assert.deepEqual(Object.keys(r.metrics), [1, 3].flatMap((k) => ["HR", "NDCG", "PSP", "Recall", "Precision", "MAP", "MRR", "Coverage"].map((f) => `${f}@${k}`)));
  const m = r.metrics;
  close(m["Recall@1"], 100 / 3);
  close(m["Recall@3"], 200 / 3); // users 0 and 1 hit within 3
  close(m["Precision@1"], 100 / 3);
  close(m["Precision@3"], (100 * (1 / 3 + 1 / 3)) / 3);
  close(m["MAP@3"], (100 * (1 + 1 / 2)) / 3); // user 0: hit at rank 1; user 1: at rank 2 (P = 1/2) of min(1, 3)
  close(m["MRR@1"], 100 / 3);
  close(m["MRR@3"], (100 * (1 + 1 / 2)) / 3);
  close(m["Coverage@1"], (100 * 2) / 5); // items 2, 2, 0
  close(m["Coverage@3"], 100); // {2,3,4} ∪ {0,1,3}
});

test("coverage leaves out masked items that fill a short top-k", async () => {
  // Item 3 is in both users' context, so only items 0, 1, 2 can be recommended: 3 of 4 items at k = 4.
  const m = (pairs: [number, number][]) => InteractionMatrix.fromTriplets(2, 4, pairs.map((p) => p[0]), pairs.map((p) => p[1]));
  const ds: Dataset = {
    name: "short", train: m([[0, 3], [1, 3]]), validation: m([]), test: m([[0, 0], [1, 1]]),
    userIds: ["a", "b"], itemIds: ["0", "1", "2", "3"], duplicates: "sum",
  };
  const r = await evaluate(new FixedScores([1, 2, 3, 4]), ds, { ks: [4], aucNegatives: 0, metrics: ["Coverage", "Precision"] });
  assert.deepEqual(Object.keys(r.metrics), ["Precision@4", "Coverage@4"]);
  close(r.metrics["Coverage@4"], 75);
  close(r.metrics["Precision@4"], 25); // one hit per user, over k = 4
});

test("per-user rows: each user's values, their mean over all users is the reported metric, and the user's own AUC", async () => {
  const r = await evaluate(new FixedScores([5, 4, 3, 2, 1]), toy(), { ks: [1, 3], metrics: METRIC_FAMILIES, perUser: true });
  const rows = r.perUser!;
  assert.deepEqual([...rows.users], [0, 1, 2]);
  assert.deepEqual([...rows.targets], [1, 1, 1]);
  assert.ok(!("Coverage@3" in rows.values), "coverage is not a per-user metric");
  assert.deepEqual([...rows.values["Recall@3"]], [100, 100, 0]);
  assert.deepEqual([...rows.values["MRR@3"]], [100, 50, 0]);
  for (const [key, v] of Object.entries(rows.values)) {
    if (key !== "AUC") close(v.reduce((a, b) => a + b, 0) / r.users, r.metrics[key], 1e-9);
  }
  // Every free item is a negative (50 > free): user 0 scores item 2 (3) against 1, 3, 4 (4, 2, 1): 2 of 3.
  // User 1: item 3 (2) against 0, 2, 4 (5, 3, 1): 1 of 3. User 2: item 4 (1) against 0, 1, 3: 0.
  [2 / 3, 1 / 3, 0].forEach((want, u) => close(rows.values["AUC"][u], want));
  // Pooled: 8.5 of 27 pairs correctly ordered (ties ½).
  close(r.metrics["AUC"], 8.5 / 27);
});

test("same seed, same output: AUC negatives, --ties random and model initialisation", async () => {
  const ds = plantedDataset(80, 40, 4, 10, 3);
  const pop = new PopRec();
  await pop.fit(ds.train);
  const run = (seed: number) => evaluate(pop, ds, { seed, tieSeed: seed, ties: "random", aucNegatives: 5, metrics: METRIC_FAMILIES, perUser: true });
  assert.deepEqual(await run(7), await run(7));
  assert.notEqual((await run(7)).metrics["AUC"], (await run(8)).metrics["AUC"]);
  // MF starts from seeded random factors: the seed decides the fitted model.
  const mf = (seed: number) => tuneModel(ds, "mf", { quick: true, seed, test: true, aucNegatives: 0 });
  const [a, b, c] = [await mf(3), await mf(3), await mf(4)];
  assert.deepEqual(a.test!.metrics, b.test!.metrics);
  assert.notDeepEqual(a.test!.metrics, c.test!.metrics);
});
