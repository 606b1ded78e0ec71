import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { describeKCore, kCore, type KCoreOptions, keptRows } from "../../lib/data/kcore.ts";
import { selectRows } from "../../lib/data/periods.ts";
import { type RawInteractions, rawFromRows, readInteractions } from "../../lib/data/text.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");
const ML100K = join(import.meta.dirname, "../../../shared/data/ml-100k-raw/u.data");

/** Rows as "user item" strings. */
const pairs = (raw: RawInteractions) => Array.from(raw.users, (u, r) => `${raw.userIds[u]} ${raw.itemIds[raw.items[r]]}`);
/** The k-core's rows as "user item" strings. */
const core = (raw: RawInteractions, options: KCoreOptions) => pairs(selectRows(raw, keptRows(kCore(raw, options).keep)));

describe("kCore", () => {
  // kcore.csv: A i1, A i2, B i1, B i2, C i2, C i3, D i3.
  const raw = readInteractions(join(FIXTURES, "kcore.csv"));

  test("users ≥ 2 and items ≥ 2 needs three rounds: D, then i3, then C", () => {
    // Round 1 drops D (1 row), leaving i3 with 1 row; round 2 drops i3, leaving C with 1 row;
    // round 3 drops C, after which i2 still has 2 rows (A, B) and nothing else falls.
    const { keep, report } = kCore(raw, { minUserInteractions: 2, minItemInteractions: 2 });
    assert.deepEqual(Array.from(keep), [1, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(core(raw, { minUserInteractions: 2, minItemInteractions: 2 }), ["A i1", "A i2", "B i1", "B i2"]);
    assert.deepEqual(report, {
      minUserInteractions: 2,
      minItemInteractions: 2,
      rounds: 3,
      droppedUsers: 2,
      droppedItems: 1,
      droppedRows: 3,
      users: 2,
      items: 2,
      rows: 4,
    });
    assert.equal(
      describeKCore(report),
      "k-core (users ≥ 2, items ≥ 2 interactions): dropped 2 users, 1 item, 3 rows in 3 rounds; 2 users, 2 items, 4 rows left",
    );
  });

  test("a user minimum alone is one round; the defaults keep everything", () => {
    assert.deepEqual(core(raw, { minUserInteractions: 2 }), ["A i1", "A i2", "B i1", "B i2", "C i2", "C i3"]);
    assert.equal(kCore(raw, { minUserInteractions: 2 }).report.rounds, 1);
    const none = kCore(raw);
    assert.ok(none.keep.every((k) => k === 1));
    assert.deepEqual([none.report.rounds, none.report.droppedRows, none.report.rows], [0, 0, 7]);
  });

  test("repeated rows count: a user with the same item twice has 2 interactions", () => {
    const twice = rawFromRows([{ user: "u", item: "x" }, { user: "u", item: "x" }, { user: "v", item: "x" }]);
    assert.deepEqual(core(twice, { minUserInteractions: 2 }), ["u x", "u x"]);
  });

  test("a k-core that empties the data is an error naming the file and what was dropped", () => {
    assert.throws(
      () => kCore(raw, { minUserInteractions: 3 }),
      (e: Error) =>
        e.message ===
        `${join(FIXTURES, "kcore.csv")}: the k-core with users ≥ 3 and items ≥ 1 interactions is empty (all 7 rows of 4 users and 3 items dropped in 1 round)`,
    );
    assert.throws(() => kCore(raw, { minItemInteractions: 0 }), /minItemInteractions must be an integer ≥ 1, got 0/);
  });

  test("MovieLens-100K, users and items ≥ 20: 917 users, 937 items, 94,443 rows in 3 rounds", (t) => {
    if (!existsSync(ML100K)) return t.skip("../shared/data/ml-100k-raw not present");
    // The same numbers from a plain Python loop (drop every user and item below 20 at once, repeat).
    const { report } = kCore(readInteractions(ML100K), { minUserInteractions: 20, minItemInteractions: 20 });
    assert.deepEqual([report.users, report.items, report.rows, report.rounds], [917, 937, 94443, 3]);
    assert.deepEqual([report.droppedUsers, report.droppedItems, report.droppedRows], [26, 745, 5557]);
  });
});
