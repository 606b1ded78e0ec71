import assert from "node:assert/strict";
import { test } from "node:test";
import { auc, hitRate, inversePropensity, ndcg, psp, randomTieOrder, tieOrderFromRanks, topK } from "../../lib/eval/metrics.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test("hitRate divides hits by min(|targets|, k)", () => {
  const top = [3, 1, 4, 0, 2];
  const t = new Set([1, 2]);
  close(hitRate(top, t, 2), 0.5);
  close(hitRate(top, t, 5), 1);
  close(hitRate(top, new Set([1, 2, 6]), 1), 0); // item 3 first: no hit
  close(hitRate(top, new Set<number>(), 5), 0); // no targets count as 0
});

test("ndcg uses binary gains and the ideal over min(|T|, k) hits", () => {
  const top = [3, 1, 4, 0, 2];
  // k = 2: one hit at rank 2 → (1/log2 3) / (1 + 1/log2 3)
  close(ndcg(top, new Set([1, 2]), 2), 1 / Math.log2(3) / (1 + 1 / Math.log2(3)));
  // k = 5: hits at ranks 2 and 5.
  close(ndcg(top, new Set([1, 2]), 5), (1 / Math.log2(3) + 1 / Math.log2(6)) / (1 + 1 / Math.log2(3)));
  close(ndcg([7, 8], new Set([7]), 2), 1);
});

test("psp: official normalisation divides once more by min(|T|, k) (the quirk)", () => {
  const w = [1, 2, 3, 4, 5];
  const top = [3, 1, 4, 0, 2];
  const t = new Set([1, 2]);
  // One hit (item 1, weight 2); the two largest target weights are 3 + 2 = 5.
  close(psp(top, t, 2, w, "textbook"), 2 / 5);
  close(psp(top, t, 2, w, "official"), 2 / 2 / 5);
  // A perfect ranking scores 1 by the textbook and 1 / min(|T|, k) officially.
  close(psp([2, 1], t, 2, w, "textbook"), 1);
  close(psp([2, 1], t, 2, w, "official"), 0.5);
});

test("inversePropensity follows 1 + C·(n + B)^−A", () => {
  const w = inversePropensity([0, 10], 100);
  const c = (Math.log(100) - 1) * Math.pow(2.5, 0.55);
  close(w[0], 1 + c * Math.pow(1.5, -0.55));
  close(w[1], 1 + c * Math.pow(11.5, -0.55));
  assert.ok(w[0] > w[1], "rarer items weigh more");
});

test("auc counts a tied (positive, negative) pair as one half", () => {
  // positives 0.5 and 0.9, negatives 0.5 and 0.2: pairs 0.5 + 1 + 1 + 1 of 4.
  close(auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]), 3.5 / 4);
  close(auc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  close(auc([1, 2, 3, 4], [1, 1, 0, 0]), 0);
  close(auc([1, 1, 1, 1], [1, 0, 1, 0]), 0.5);
  assert.ok(Number.isNaN(auc([1, 2], [1, 1])), "no negatives: undefined");
});

test("topK returns best first and breaks ties by the lower index", () => {
  const s = [1, 3, 3, 2, 3];
  assert.deepEqual([...topK(s, 3)], [1, 2, 4]);
  assert.deepEqual([...topK(s, 4)], [1, 2, 4, 3]);
  assert.deepEqual([...topK(s, 10)], [1, 2, 4, 3, 0]);
  assert.deepEqual([...topK([-Infinity, 5, -Infinity], 3)], [1, 0, 2]);
});

test("topK agrees with a full stable sort on random scores with many ties", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 20; trial++) {
    const n = 50 + trial * 13;
    const s = Array.from({ length: n }, () => Math.floor(rnd() * 8));
    const k = 1 + (trial * 7) % n;
    const full = [...s.keys()].sort((a, b) => s[b] - s[a] || a - b).slice(0, k);
    assert.deepEqual([...topK(s, k)], full);
  }
});

test("topK with a tie priority agrees with a full sort by (score, priority)", () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 20; trial++) {
    const n = 40 + trial * 9;
    const s = Array.from({ length: n }, () => Math.floor(rnd() * 5));
    if (trial % 4 === 0) s[3] = -Infinity;
    const ties = randomTieOrder(n, trial);
    const k = 1 + (trial * 5) % n;
    const full = [...s.keys()].sort((a, b) => s[b] - s[a] || ties.rank[a] - ties.rank[b]).slice(0, k);
    assert.deepEqual([...topK(s, k, undefined, ties)], full);
  }
  // The identity priority is the index rule.
  const s = [1, 3, 3, 2, 3];
  assert.deepEqual([...topK(s, 4, undefined, tieOrderFromRanks(Int32Array.from([0, 1, 2, 3, 4])))], [...topK(s, 4)]);
  assert.deepEqual([...topK(s, 2, undefined, tieOrderFromRanks(Int32Array.from([4, 3, 2, 1, 0])))], [4, 2]);
  assert.throws(() => topK(s, 2, undefined, randomTieOrder(3, 1)), /tie order holds 3 entries for 5 scores/);
  assert.throws(() => tieOrderFromRanks(Int32Array.from([0, 0, 1])), /not a permutation/);
});

test("randomTieOrder is a seeded permutation with its inverse", () => {
  const a = randomTieOrder(100, 42);
  assert.deepEqual([...a.rank].sort((x, y) => x - y), [...Array(100).keys()]);
  for (let r = 0; r < 100; r++) assert.equal(a.rank[a.order[r]], r);
  assert.deepEqual(a, randomTieOrder(100, 42));
  assert.notDeepEqual(a.rank, randomTieOrder(100, 43).rank);
});
