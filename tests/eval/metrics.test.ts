import assert from "node:assert/strict";
import { test } from "node:test";
import { auc, averagePrecision, CoverageCounter, hitRate, inversePropensity, ndcg, precision, psp, recall, reciprocalRank, sortAscending } from "../../lib/eval/metrics.ts";

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

test("sortAscending equals the native sort: float32 values by radix, others natively", () => {
  let seed = 7;
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const specials = [0, -0, Infinity, -Infinity, 1e-40, -1e-40, 3.4e38, -3.4e38];
  for (const n of [10, 1000, 50_000]) {
    // float32 scores with ties, both signs, subnormals and infinities
    const f32 = Float64Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i] : Math.fround((r() - 0.5) * 10 ** Math.floor(r() * 8 - 4))));
    for (let i = 0; i < n / 10; i++) f32[Math.floor(r() * n)] = f32[Math.floor(r() * n)];
    const want = Float64Array.from(f32).sort();
    sortAscending(f32);
    assert.deepEqual([...f32].map((v) => Object.is(v, -0) ? "-0" : v), [...want].map((v) => Object.is(v, -0) ? "-0" : v), `n = ${n}`);
    // one value that is not a float32: the native sort, same order
    const f64 = Float64Array.from({ length: n }, () => r() - 0.5);
    const want64 = Float64Array.from(f64).sort();
    sortAscending(f64);
    assert.deepEqual([...f64], [...want64]);
  }
});

test("auc counts a tied (positive, negative) pair as one half", () => {
  // positives 0.5 and 0.9, negatives 0.5 and 0.2: pairs 0.5 + 1 + 1 + 1 of 4.
  close(auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]), 3.5 / 4);
  close(auc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  close(auc([1, 2, 3, 4], [1, 1, 0, 0]), 0);
  close(auc([1, 1, 1, 1], [1, 0, 1, 0]), 0.5);
  assert.ok(Number.isNaN(auc([1, 2], [1, 1])), "no negatives: undefined");
});

test("auc equals the brute-force pair count on random scores with ties", () => {
  let s = 7;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const scores = Array.from({ length: 300 }, () => Math.floor(next() * 20) / 4);
  const labels = scores.map(() => (next() < 0.3 ? 1 : 0));
  let num = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      num += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  assert.equal(auc(scores, labels), num / pairs);
});

// The metrics beyond the paper's, on the same hand-worked ranking: items 3, 1, 4, 0, 2 (best first).
const TOP = [3, 1, 4, 0, 2];

test("recall divides hits by |targets|, where HR@k divides by min(|targets|, k)", () => {
  close(recall(TOP, new Set([1, 2]), 2), 1 / 2);
  close(recall(TOP, new Set([1, 2]), 5), 2 / 2);
  // Four targets, one in the top 2: Recall@2 = 1/4, HR@2 = 1/min(4, 2) = 1/2.
  const four = new Set([1, 2, 6, 7]);
  close(recall(TOP, four, 2), 0.25);
  close(hitRate(TOP, four, 2), 0.5);
  close(recall(TOP, new Set<number>(), 5), 0);
});

test("precision divides hits by k, even past the end of the list", () => {
  close(precision(TOP, new Set([1, 2]), 2), 1 / 2);
  close(precision(TOP, new Set([1, 2]), 5), 2 / 5);
  close(precision(TOP, new Set([1, 2]), 10), 2 / 10); // 5 ranked items, k = 10
  close(precision(TOP, new Set([9]), 5), 0);
});

test("average precision sums precision at each hit over min(|targets|, k)", () => {
  // Hits at ranks 2 (P@2 = 1/2) and 5 (P@5 = 2/5).
  close(averagePrecision(TOP, new Set([1, 2]), 5), (1 / 2 + 2 / 5) / 2);
  close(averagePrecision(TOP, new Set([1, 2]), 2), 1 / 2 / 2);
  close(averagePrecision(TOP, new Set([1, 2, 6, 7]), 2), 1 / 2 / 2);
  close(averagePrecision([1, 2], new Set([1, 2]), 2), 1); // a perfect top-k scores 1
  close(averagePrecision(TOP, new Set<number>(), 5), 0);
});

test("reciprocal rank is 1 / rank of the first target within k, else 0", () => {
  close(reciprocalRank(TOP, new Set([1, 2]), 5), 1 / 2);
  close(reciprocalRank(TOP, new Set([1, 2]), 1), 0);
  close(reciprocalRank(TOP, new Set([2]), 5), 1 / 5);
  close(reciprocalRank(TOP, new Set([2]), 4), 0);
  close(reciprocalRank(TOP, new Set([3, 2]), 5), 1);
});

test("catalogue coverage counts distinct items in the first k of each list over all items", () => {
  const at2 = new CoverageCounter(10);
  const at3 = new CoverageCounter(10);
  for (const list of [[0, 1, 2], [2, 3, 5]]) {
    at2.add(list, 2);
    at3.add(list, 3);
  }
  close(at2.value(), 4 / 10); // {0, 1, 2, 3}
  close(at3.value(), 5 / 10); // {0, 1, 2, 3, 5}
  close(new CoverageCounter(3).value(), 0);
  assert.throws(() => new CoverageCounter(0), /positive item count/);
});
