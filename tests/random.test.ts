import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../lib/random.ts";

test("Rng.weighted draws each index in proportion to its weight, never a zero-weight one", () => {
  const weights = [0, 1, 3, 0, 6];
  const cumulative = new Float64Array(weights.length);
  weights.reduce((acc, w, i) => (cumulative[i] = acc + w), 0);
  const rng = new Rng(7);
  const counts = new Array(weights.length).fill(0);
  const draws = 100_000;
  for (let k = 0; k < draws; k++) counts[rng.weighted(cumulative)]++;
  assert.equal(counts[0], 0);
  assert.equal(counts[3], 0);
  for (const i of [1, 2, 4]) {
    const p = weights[i] / 10;
    const sd = Math.sqrt(draws * p * (1 - p));
    assert.ok(Math.abs(counts[i] - draws * p) < 5 * sd, `index ${i}: ${counts[i]} draws, expected ${draws * p} ± ${sd.toFixed(0)}`);
  }
});

test("Rng.weighted is the first index whose running sum reaches u·total, one next() per draw", () => {
  const cumulative = [0.5, 0.5, 2, 4];
  const a = new Rng(3);
  const b = new Rng(3);
  for (let k = 0; k < 1000; k++) {
    const r = b.next() * 4;
    const want = cumulative.findIndex((c) => c >= r);
    assert.equal(a.weighted(cumulative), want);
  }
});
