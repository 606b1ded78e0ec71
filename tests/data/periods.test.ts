import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { rowsInTimeOrder, rowsToMatrix, selectRows, splitByTime } from "../../lib/data/periods.ts";
import { rawFromRows, readInteractions } from "../../lib/data/text.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");
const ML100K = join(import.meta.dirname, "../../../shared/data/ml-100k-raw/u.data");

describe("splitByTime", () => {
  // timed.tsv rows (0-based): 0 u1 a @300, 1 u2 b @100, 2 u1 c @200, 3 u3 a @200, 4 u2 c @500, 5 u3 b @200, 6 u1 b @400.
  const raw = readInteractions(join(FIXTURES, "timed.tsv"));

  test("time order: by timestamp, equal timestamps by file row", () => {
    assert.deepEqual(Array.from(rowsInTimeOrder(raw)), [1, 2, 3, 5, 0, 6, 4]);
  });

  test("7 rows into 3 periods: sizes 2, 2, 3; a tie at 200 straddles the first boundary, earlier file row first", () => {
    const periods = splitByTime(raw, 3);
    assert.deepEqual(
      periods.map((p) => [p.index, Array.from(p.rows), p.firstTimestamp, p.lastTimestamp]),
      [
        [0, [1, 2], 100, 200],
        [1, [3, 5], 200, 200],
        [2, [0, 6, 4], 300, 500],
      ],
    );
  });

  test("one period is everything in time order; as many periods as rows gives one row each", () => {
    assert.deepEqual(Array.from(splitByTime(raw, 1)[0].rows), [1, 2, 3, 5, 0, 6, 4]);
    assert.deepEqual(splitByTime(raw, 7).map((p) => Array.from(p.rows)), [[1], [2], [3], [5], [0], [6], [4]]);
  });

  test("errors: no timestamps, a missing timestamp, bad period counts", () => {
    const untimed = rawFromRows([{ user: "1", item: "2" }, { user: "1", item: "3" }], "pairs.csv");
    assert.throws(() => splitByTime(untimed, 2), /^Error: pairs\.csv: no timestamp column/);
    const gap = rawFromRows([{ user: "1", item: "2", timestamp: 5 }, { user: "1", item: "3" }], "gap");
    assert.throws(() => splitByTime(gap, 1), /gap: row 2 has no valid timestamp/);
    assert.throws(() => splitByTime(raw, 8), /8 periods but only 7 interactions/);
    assert.throws(() => splitByTime(raw, 0), /periods must be an integer ≥ 1, got 0/);
    assert.throws(() => splitByTime(raw, 1.5), /got 1\.5/);
  });

  test("selectRows and rowsToMatrix keep the parent's id space", () => {
    const [first, , last] = splitByTime(raw, 3);
    const sub = selectRows(raw, last.rows);
    assert.equal(sub.userIds, raw.userIds);
    assert.deepEqual(Array.from(sub.timestamps ?? []), [300, 400, 500]);
    assert.deepEqual(Array.from(sub.ratings ?? []), [5, 5, 1]);
    // userIds u1 u2 u3, itemIds a b c (first appearance).
    const m = rowsToMatrix(raw, first.rows);
    assert.deepEqual([m.numUsers, m.numItems], [3, 3]);
    assert.deepEqual(Array.from(m.rowItems(0)), [2]); // u1 c
    assert.deepEqual(Array.from(m.rowItems(1)), [1]); // u2 b
    assert.equal(m.rowNnz(2), 0);
    assert.equal(rowsToMatrix(raw).nnz, 7);
    assert.throws(() => selectRows(raw, [7]), /row 7 outside 0\.\.6/);
  });

  test("MovieLens-100K u.data: 10 periods of 10,000 ratings, boundaries checked against `sort -k4n` by line", (t) => {
    if (!existsSync(ML100K)) return t.skip("../shared/data/ml-100k-raw not present");
    const ml = readInteractions(ML100K);
    assert.equal(ml.users.length, 100000);
    const periods = splitByTime(ml, 10);
    assert.ok(periods.every((p) => p.rows.length === 10000));
    // [first row (0-based), its timestamp, last row, its timestamp] per period, from
    // awk '{print $4"\t"NR}' u.data | sort -k1,1n -k2,2n (equal timestamps by line).
    const expected = [
      [214, 874724710, 20638, 876338453],
      [37364, 876338453, 6302, 878963305],
      [8647, 878963305, 30159, 879786892],
      [30676, 879786892, 95096, 880845177],
      [95490, 880845177, 9996, 882826944],
      [10667, 882826944, 84914, 884673930],
      [70576, 884673954, 91288, 887039271],
      [99024, 887039271, 1257, 889237269],
      [3758, 889237269, 64877, 891382267],
      [557, 891382309, 79208, 893286638],
    ];
    assert.deepEqual(
      periods.map((p) => [p.rows[0], p.firstTimestamp, p.rows[p.rows.length - 1], p.lastTimestamp]),
      expected,
    );
  });
});
