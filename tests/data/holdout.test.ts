import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Dataset } from "../../lib/data/dataset.ts";
import { leaveOneOutSplit, splitByRule, temporalSplit } from "../../lib/data/holdout.ts";
import { buildDataset, SplitRandom } from "../../lib/data/split.ts";
import { rawFromRows, readInteractions } from "../../lib/data/text.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");

/** Per split: "user:item item …" for each user with rows there. */
function lists(ds: Dataset): string[][] {
  return [ds.train, ds.validation, ds.test].map((m) => {
    const out: string[] = [];
    for (let u = 0; u < m.numUsers; u++) {
      if (m.rowNnz(u) > 0) out.push(`${ds.userIds[u]}:${Array.from(m.rowItems(u), (i) => ds.itemIds[i]).join(" ")}`);
    }
    return out;
  });
}

const sum = (values: Float32Array) => values.reduce((a, b) => a + b, 0);

// timed.tsv (user item rating ts), rows 0..6:
// u1 a @300, u2 b @100, u1 c @200, u3 a @200, u2 c @500, u3 b @200, u1 b @400.
const timed = readInteractions(join(FIXTURES, "timed.tsv"));

describe("leave-one-out", () => {
  test("by timestamp: last is test, the one before validation (≥ 3 rows); equal timestamps by file order", () => {
    // u1: c@200, a@300, b@400 → train c, validation a, test b.
    // u2: b@100, c@500 (2 rows) → train b, test c.
    // u3: a@200 (row 3), b@200 (row 5): b is later in the file → test b, train a.
    const ds = leaveOneOutSplit(timed, { name: "timed" });
    assert.deepEqual(lists(ds), [["u1:c", "u2:b", "u3:a"], ["u1:a"], ["u1:b", "u2:c", "u3:b"]]);
    assert.deepEqual(ds.userIds, ["u1", "u2", "u3"]);
    assert.deepEqual(ds.itemIds, ["a", "b", "c"]);
  });

  test("without timestamps: a seeded random order per user; depends only on the set of rows", () => {
    const rng = new SplitRandom(7);
    const rows: { user: string; item: string }[] = [];
    for (let u = 0; u < 30; u++) {
      const n = 1 + rng.below(6);
      for (let k = 0; k < n; k++) rows.push({ user: `${u}`, item: `${rng.below(40)}` });
    }
    const raw = rawFromRows(rows);
    const ds = leaveOneOutSplit(raw, { name: "r", seed: 42 });
    const perUser = new Map<string, number>();
    for (const r of rows) perUser.set(r.user, (perUser.get(r.user) ?? 0) + 1);
    for (let u = 0; u < ds.userIds.length; u++) {
      const n = perUser.get(ds.userIds[u]) as number;
      assert.equal(sum(ds.test.rowValues(u)), 1, `user ${ds.userIds[u]} test`);
      const validation = sum(ds.validation.rowValues(u));
      assert.equal(validation, n >= 3 ? 1 : 0, `user ${ds.userIds[u]} validation`);
      assert.equal(sum(ds.train.rowValues(u)), n - 1 - validation);
    }
    const reversed = rawFromRows([...rows].reverse());
    assert.deepEqual(lists(leaveOneOutSplit(reversed, { name: "r", seed: 42 })), lists(ds));
    assert.deepEqual(lists(leaveOneOutSplit(raw, { name: "r", seed: 42 })), lists(ds));
    assert.notDeepEqual(lists(leaveOneOutSplit(raw, { name: "r", seed: 43 })), lists(ds));
  });
});

describe("temporal split", () => {
  test("global time cuts at ⌊0.8·7⌋ = 5 and ⌊0.9·7⌋ = 6 rows", () => {
    // Time order: u2 b@100, u1 c@200, u3 a@200, u3 b@200, u1 a@300 | u1 b@400 | u2 c@500.
    const ds = temporalSplit(timed, { name: "timed" });
    assert.deepEqual(lists(ds), [["u1:a c", "u2:b", "u3:a b"], ["u1:b"], ["u2:c"]]);
  });

  test("a cut inside equal timestamps follows file order; other ratios", () => {
    // 3/7 train: u2 b@100, u1 c@200, u3 a@200 (row 3 before row 5, both @200).
    const ds = temporalSplit(timed, { name: "timed", ratios: [3 / 7, 2 / 7, 2 / 7] });
    assert.deepEqual(lists(ds), [["u1:c", "u2:b", "u3:a"], ["u1:a", "u3:b"], ["u1:b", "u2:c"]]);
  });

  test("no timestamps is one clear error", () => {
    const untimed = readInteractions(join(FIXTURES, "noheader.tsv"));
    assert.throws(
      () => temporalSplit(untimed, { name: "x" }),
      (e: Error) => e.message === `${join(FIXTURES, "noheader.tsv")}: a temporal split needs timestamps, and these interactions have no timestamp column`,
    );
    assert.throws(() => temporalSplit(timed, { name: "x", ratios: [0.5, 0.5, 0.5] }), /ratios must sum to 1/);
  });
});

describe("a keep mask (e.g. a k-core's) leaves rows out before the split", () => {
  test("temporal cuts count kept rows only; a user without kept rows is gone", () => {
    // Rows 1 and 4 (all of u2) left out; kept in time order: u1 c, u3 a, u3 b, u1 a, u1 b → cuts at 4 and 4.
    const keep = Uint8Array.from([1, 0, 1, 1, 0, 1, 1]);
    const ds = temporalSplit(timed, { name: "t", keep });
    assert.deepEqual(ds.userIds, ["u1", "u3"]);
    assert.deepEqual(lists(ds), [["u1:a c", "u3:a b"], [], ["u1:b"]]);
  });

  test("leave-one-out: u1 without its b@400 row has 2 rows, so no validation row", () => {
    const keep = Uint8Array.from([1, 1, 1, 1, 1, 1, 0]);
    assert.deepEqual(lists(leaveOneOutSplit(timed, { name: "t", keep })), [["u1:c", "u2:b", "u3:a"], [], ["u1:a", "u2:c", "u3:b"]]);
    assert.throws(() => leaveOneOutSplit(timed, { name: "t", keep: new Uint8Array(3) }), /keep mask has 3 entries for 7 rows/);
  });
});

describe("splitByRule", () => {
  test("paper is buildDataset keeping every user; the others are the functions above", () => {
    const paper = splitByRule(timed, "paper", { name: "timed", seed: 3 });
    assert.deepEqual(lists(paper), lists(buildDataset(timed, { name: "timed", seed: 3, minInteractions: 1 })));
    assert.deepEqual(lists(splitByRule(timed, "temporal", { name: "t" })), lists(temporalSplit(timed, { name: "t" })));
    assert.throws(() => splitByRule(timed, "random" as "paper", { name: "t" }), /unknown split rule "random"/);
  });
});
