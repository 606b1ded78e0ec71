import { test } from "node:test";
import assert from "node:assert/strict";
import {
  STREAM_BATCH,
  fillGumbel,
  sampleWithoutReplacement,
  threefry2x32,
  uniform53,
  wordToOpenUnit,
} from "../../lib/distill/rng.ts";

test("threefry2x32-20 matches Random123's known-answer vectors", () => {
  const out = new Uint32Array(2);
  // [key0, key1, ctr0, ctr1, expected0, expected1] from Random123 kat_vectors.
  const kat: number[][] = [
    [0, 0, 0, 0, 0x6b200159, 0x99ba4efe],
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x1cb996fc, 0xbb002be7],
    [0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, 0xc4923a9c, 0x483df7a0],
  ];
  for (const [k0, k1, c0, c1, e0, e1] of kat) {
    threefry2x32(k0, k1, c0, c1, out);
    assert.deepEqual([out[0], out[1]], [e0, e1]);
  }
});

test("open-unit mapping never returns 0 or 1", () => {
  assert.ok(wordToOpenUnit(0) > 0);
  assert.ok(wordToOpenUnit(0xffffffff) < 1);
  assert.ok(Number.isFinite(-Math.log(-Math.log(wordToOpenUnit(0)))));
  assert.ok(Number.isFinite(-Math.log(-Math.log(wordToOpenUnit(0xffffffff)))));
});

test("Gumbel noise is regenerable per (seed, step, sample) and differs across them", () => {
  const a = fillGumbel(42, 7, 3, new Float64Array(101));
  const b = fillGumbel(42, 7, 3, new Float64Array(101));
  assert.deepEqual(a, b);
  // A prefix of a longer fill is the shorter fill (entry i depends on i only).
  const longer = fillGumbel(42, 7, 3, new Float64Array(300));
  assert.deepEqual(longer.subarray(0, 101), a);
  for (const other of [fillGumbel(43, 7, 3, new Float64Array(101)), fillGumbel(42, 8, 3, new Float64Array(101)), fillGumbel(42, 7, 4, new Float64Array(101))]) {
    let same = 0;
    for (let i = 0; i < 101; i++) if (other[i] === a[i]) same++;
    assert.equal(same, 0);
  }
});

test("Gumbel noise has the Gumbel(0,1) mean γ_E and variance π²/6", () => {
  const n = 200_000;
  const g = fillGumbel(1, 0, 0, new Float64Array(n));
  let mean = 0;
  for (const v of g) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of g) variance += (v - mean) ** 2;
  variance /= n - 1;
  // Standard errors: √(π²/6/n) ≈ 0.0029 for the mean, ≈ 0.011 for the variance.
  assert.ok(Math.abs(mean - 0.5772156649) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(variance - Math.PI ** 2 / 6) < 0.06, `variance ${variance}`);
  // CDF check at one point: P(G ≤ 0) = e^{-1}.
  const below = g.filter((v) => v <= 0).length / n;
  assert.ok(Math.abs(below - Math.exp(-1)) < 0.005, `P(G≤0) ${below}`);
});

test("sampleWithoutReplacement draws distinct in-range indices, deterministically", () => {
  const a = sampleWithoutReplacement(5, STREAM_BATCH, 1, 1000, 300);
  assert.equal(new Set(a).size, 300);
  assert.ok(a.every((u) => u >= 0 && u < 1000));
  assert.deepEqual(a, sampleWithoutReplacement(5, STREAM_BATCH, 1, 1000, 300));
  assert.notDeepEqual(a, sampleWithoutReplacement(5, STREAM_BATCH, 2, 1000, 300));
  const all = sampleWithoutReplacement(5, STREAM_BATCH, 1, 50, 50);
  assert.deepEqual([...all].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.throws(() => sampleWithoutReplacement(5, STREAM_BATCH, 1, 3, 4), /0 ≤ k ≤ n/);
});

test("uniform53 lies in [0, 1) with mean ≈ ½", () => {
  let s = 0;
  for (let i = 0; i < 10000; i++) {
    const u = uniform53(9, 1, 0, i);
    assert.ok(u >= 0 && u < 1);
    s += u;
  }
  assert.ok(Math.abs(s / 10000 - 0.5) < 0.015);
});

test("bad RNG arguments are rejected", () => {
  assert.throws(() => fillGumbel(-1, 0, 0, new Float64Array(2)), /seed/);
  assert.throws(() => fillGumbel(1, 2 ** 31, 0, new Float64Array(2)), /step/);
  assert.throws(() => fillGumbel(1, 0, 1.5, new Float64Array(2)), /sample/);
});
