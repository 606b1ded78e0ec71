import assert from "node:assert/strict";
import { test } from "node:test";
import { randomTieOrder, tieOrderFromRanks, topK } from "../../lib/ranking/top-k.ts";

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
