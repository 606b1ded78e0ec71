import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";

test("fromTriplets sorts rows and sums or binarises duplicates", () => {
  const users = [1, 0, 1, 1, 2];
  const items = [3, 2, 0, 3, 1];
  const s = InteractionMatrix.fromTriplets(3, 4, users, items);
  assert.deepEqual([...s.indptr], [0, 1, 3, 4]);
  assert.deepEqual([...s.indices], [2, 0, 3, 1]);
  assert.deepEqual([...s.values], [1, 1, 2, 1]);
  assert.equal(s.total, 5);
  const b = InteractionMatrix.fromTriplets(3, 4, users, items, undefined, "binary");
  assert.deepEqual([...b.values], [1, 1, 1, 1]);
  assert.equal(b.total, 4);
});

test("denseRows gives row blocks without densifying the rest", () => {
  const m = InteractionMatrix.fromTriplets(3, 4, [0, 1, 2, 2], [1, 3, 0, 2], [1, 0.5, 1, 2]);
  assert.deepEqual([...m.denseRows(1, 3)], [0, 0, 0, 0.5, 1, 0, 2, 0]);
  const buf = new Float32Array(12).fill(9);
  const view = m.denseRows(0, 1, buf);
  assert.deepEqual([...view], [0, 1, 0, 0]);
  assert.deepEqual([...m.denseRowsOf([2, 0])], [1, 0, 2, 0, 0, 1, 0, 0]);
  assert.throws(() => m.denseRows(2, 4), /outside/);
});

test("flatEntries and flatEntriesOf give exactly the entries denseRows writes", () => {
  const m = InteractionMatrix.fromTriplets(4, 5, [0, 1, 1, 3, 3], [4, 0, 2, 1, 3], [1, 0.5, 2, 1, 3]);
  const densify = (e: { indices: Int32Array; values: Float32Array; dims: [number, number] }): number[] => {
    const d = new Array(e.dims[0] * e.dims[1]).fill(0);
    e.indices.forEach((ix, p) => (d[ix] = e.values[p]));
    return d;
  };
  for (const [a, b] of [[0, 4], [1, 3], [2, 2], [3, 4]]) {
    const e = m.flatEntries(a, b);
    assert.deepEqual(e.dims, [b - a, 5]);
    assert.deepEqual(densify(e), [...m.denseRows(a, b)]);
  }
  const of = m.flatEntriesOf([3, 0, 3]);
  assert.deepEqual(of.dims, [3, 5]);
  assert.deepEqual(densify(of), [...m.denseRowsOf([3, 0, 3])]);
  assert.throws(() => m.flatEntries(3, 5), /flatEntries: range \[3, 5\) outside/);
  assert.throws(() => m.flatEntriesOf([1, 4]), /flatEntriesOf: user 4 outside 0..3/);
});

test("add merges rows; selectUsers, has and itemCounts", () => {
  const a = InteractionMatrix.fromTriplets(2, 3, [0, 1], [0, 2]);
  const b = InteractionMatrix.fromTriplets(2, 3, [0, 1], [0, 1]);
  const c = a.add(b);
  assert.deepEqual([...c.indices], [0, 1, 2]);
  assert.deepEqual([...c.values], [2, 1, 1]);
  assert.ok(c.has(1, 2) && !c.has(0, 2));
  assert.deepEqual([...c.itemCounts()], [2, 1, 1]);
  const s = c.selectUsers([1]);
  assert.equal(s.numUsers, 1);
  assert.deepEqual([...s.indices], [1, 2]);
  assert.throws(() => a.add(InteractionMatrix.empty(3, 3)), /shapes differ/);
});

test("bad triplets are rejected with the offending row", () => {
  assert.throws(() => InteractionMatrix.fromTriplets(2, 2, [0, 2], [0, 0]), /user index 2 at row 1/);
  assert.throws(() => InteractionMatrix.fromTriplets(2, 2, [0], [5]), /item index 5 at row 0/);
  assert.throws(() => InteractionMatrix.fromTriplets(2, 2, [0], [0], [NaN]), /not finite/);
});
