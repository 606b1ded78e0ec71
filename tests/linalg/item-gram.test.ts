import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { itemGramFallbackReason, itemGramRanges, itemGramRows, itemGramUpdates, sparseItemGram } from "../../lib/linalg/item-gram.ts";
import { Rng } from "../../lib/random.ts";

/** Rows of skewed length (some empty), weighted values, and items nobody has. */
function skewedMatrix(n: number, m: number, seed: number): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  const vs: number[] = [];
  for (let u = 0; u < n; u++) {
    const density = u % 7 === 0 ? 0 : 0.4 * rng.next() ** 2;
    for (let i = 0; i < m; i++) {
      if (i % 11 === 5) continue; // never interacted with
      // Popular items early and late in the order, so the rows' work is uneven.
      const p = density * (i < m / 5 || i > (4 * m) / 5 ? 3 : 1);
      if (rng.next() < p) {
        us.push(u);
        is.push(i);
        vs.push(0.25 + rng.next());
      }
    }
  }
  return InteractionMatrix.fromTriplets(n, m, us, is, vs);
}

/** XᵀX in float64 from the definition. */
function referenceGram(x: InteractionMatrix): Float64Array {
  const m = x.numItems;
  const g = new Float64Array(m * m);
  for (let u = 0; u < x.numUsers; u++) {
    const items = x.rowItems(u);
    const vals = x.rowValues(u);
    for (let a = 0; a < items.length; a++) for (let b = 0; b < items.length; b++) g[items[a] * m + items[b]] += vals[a] * vals[b];
  }
  return g;
}

test("sparseItemGram (here) equals the float64 XᵀX and is exactly symmetric", async () => {
  const x = skewedMatrix(90, 70, 1);
  const m = x.numItems;
  const g = await sparseItemGram(x, { workers: 0 });
  const want = referenceGram(x);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < m * m; i++) {
    err = Math.max(err, Math.abs(g[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  assert.ok(err / scale <= 1e-6, `relative error ${err / scale}`);
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) assert.equal(g[i * m + j], g[j * m + i]);
  console.log(`sparseItemGram: max error ${(err / scale).toExponential(2)} of the largest entry (float32 sums)`);
});

test("sparseItemGram on two workers: bit for bit the single-threaded Gram, with progress to 1", async () => {
  const x = skewedMatrix(300, 157, 2);
  const here = await sparseItemGram(x, { workers: 0 });
  const fractions: number[] = [];
  const shared = await sparseItemGram(x, { workers: 2, onProgress: (f) => fractions.push(f) });
  assert.equal(itemGramFallbackReason, null, "the workers ran");
  assert.deepEqual(shared, here);
  assert.ok(fractions.length >= 2, "a progress call per range");
  assert.equal(fractions.at(-1), 1);
  for (let k = 1; k < fractions.length; k++) assert.ok(fractions[k] > fractions[k - 1]);
});

test("itemGramRows: a range of rows is that block of the lower triangle", () => {
  const x = skewedMatrix(60, 40, 3);
  const m = x.numItems;
  const whole = itemGramRows({ indptr: x.indptr, indices: x.indices, values: x.values, numUsers: x.numUsers, rowStart: 0, rowEnd: m });
  const part = itemGramRows({ indptr: x.indptr, indices: x.indices, values: x.values, numUsers: x.numUsers, rowStart: 13, rowEnd: 29 });
  assert.equal(part.length, 16 * 29);
  for (let i = 13; i < 29; i++) {
    for (let j = 0; j < 29; j++) assert.equal(part[(i - 13) * 29 + j], j <= i ? whole[i * m + j] : 0, `(${i}, ${j})`);
  }
  // Into G's own rows (stride m): the range's lower triangle written, nothing else touched.
  const inRange = (i: number, j: number) => i >= 13 && i < 29 && j <= i;
  const into = new Float32Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (!inRange(i, j)) into[i * m + j] = 0.5;
  itemGramRows({ indptr: x.indptr, indices: x.indices, values: x.values, numUsers: x.numUsers, rowStart: 13, rowEnd: 29 }, into.subarray(13 * m), m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) assert.equal(into[i * m + j], inRange(i, j) ? whole[i * m + j] : 0.5, `(${i}, ${j})`);
  }
  const job = { indptr: x.indptr, indices: x.indices, values: x.values, numUsers: x.numUsers, rowStart: 0, rowEnd: 5 };
  assert.throws(() => itemGramRows(job, new Float32Array(3)), /out has 3 values, expected at least 25/);
  assert.throws(() => itemGramRows(job, undefined, 4), /stride must be an integer ≥ rowEnd \(5\), got 4/);
});

test("itemGramRanges: contiguous ranges over every row, of about equal work", () => {
  const x = skewedMatrix(200, 300, 4);
  const m = x.numItems;
  const work = new Float64Array(m);
  for (let u = 0; u < x.numUsers; u++) {
    const p0 = x.indptr[u];
    for (let p = p0; p < x.indptr[u + 1]; p++) work[x.indices[p]] += p - p0 + 1;
  }
  const total = work.reduce((a, b) => a + b, 0);
  assert.equal(total, itemGramUpdates(x));
  const maxRow = Math.max(...work);
  for (const count of [1, 4, 16]) {
    const ranges = itemGramRanges(x, count);
    assert.equal(ranges[0][0], 0);
    assert.equal(ranges.at(-1)![1], m);
    for (let k = 1; k < ranges.length; k++) assert.equal(ranges[k][0], ranges[k - 1][1]);
    assert.ok(ranges.length <= count, `${ranges.length} ranges for ${count}`);
    for (const [a, b] of ranges) {
      assert.ok(b > a);
      let w = 0;
      for (let i = a; i < b; i++) w += work[i];
      assert.ok(w <= total / count + maxRow, `range [${a}, ${b}) has work ${w}, share ${total / count}`);
    }
  }
});

test("sparseItemGram: a bad worker count is refused", async () => {
  const x = skewedMatrix(10, 8, 5);
  await assert.rejects(sparseItemGram(x, { workers: -1 }), /workers must be an integer ≥ 0, got -1/);
  await assert.rejects(sparseItemGram(x, { workers: 1.5 }), /workers must be an integer ≥ 0, got 1.5/);
});
