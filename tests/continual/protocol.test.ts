import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { rawFromRows } from "../../lib/data/text.ts";
import { activeUsers, evaluateNextPeriod, nextPeriodTask, periodData, seenItems, stackRows } from "../../lib/continual/protocol.ts";

// Three periods of 4 rows each (timestamps 1..12, one row per timestamp).
// Users a, b, c, d; items x, y, z, w, v.
const LOG = [
  ["a", "x"], ["a", "y"], ["b", "x"], ["b", "z"], //  period 0
  ["a", "z"], ["c", "y"], ["a", "y"], ["b", "y"], //  period 1 (a re-rates y)
  ["a", "w"], ["b", "z"], ["c", "x"], ["d", "x"], //  period 2
] as const;
const raw = rawFromRows(LOG.map(([user, item], k) => ({ user, item, timestamp: k + 1 })));
// Dense ids in order of first appearance: users a0 b1 c2 d3, items x0 y1 z2 w3.
const [A, B, C, D] = [0, 1, 2, 3];
const [X, Y, Z, W] = [0, 1, 2, 3];

describe("continual protocol", () => {
  const data = periodData(raw, 3);

  test("periods as binary matrices, histories cumulative", () => {
    assert.deepEqual(Array.from(data.matrices[1].rowItems(A)), [Y, Z]);
    assert.deepEqual(Array.from(data.matrices[1].rowValues(A)), [1, 1]);
    assert.deepEqual(Array.from(data.histories[1].rowItems(A)), [X, Y, Z]);
    assert.deepEqual(Array.from(data.histories[1].rowValues(A)), [1, 1, 1], "re-rated y counts once");
    assert.deepEqual(Array.from(activeUsers(data.histories[1])), [A, B, C]);
    assert.deepEqual(Array.from(seenItems(data.histories[0])), [1, 1, 1, 0]);
  });

  test("next-period task: seen users only, unseen items and repeats dropped", () => {
    const task = nextPeriodTask(data, 1);
    // Period 2: a·w (w unseen before), b·z (b had z: repeat), c·x (target), d·x (d is new).
    assert.deepEqual(Array.from(task.users), [C]);
    assert.deepEqual([...task.targets[0]], [X]);
    assert.equal(task.newUsers, 1);
    assert.equal(task.unseenItemTargets, 1);
    assert.equal(task.repeatTargets, 1);
    const first = nextPeriodTask(data, 0);
    // Period 1: a·z (target; a's history x, y), c·y (c new), a·y (repeat), b·y (target).
    assert.deepEqual(Array.from(first.users), [A, B]);
    assert.deepEqual(first.targets.map((s) => [...s]), [[Z], [Y]]);
    assert.equal(first.newUsers, 1);
    assert.equal(first.repeatTargets, 1);
    assert.throws(() => nextPeriodTask(data, 2), /no next period/);
  });

  test("evaluation masks history and unseen items, HR/NDCG@10 over evaluated users", () => {
    const task = nextPeriodTask(data, 0);
    // Rankable items: x, y, z (w unseen). The scorer puts the unseen w and the
    // user's own items on top; they must not count.
    const scorer = (context: InteractionMatrix, users: Int32Array, out: Float32Array): void => {
      assert.equal(context, task.history);
      users.forEach((u, r) => {
        const row = out.subarray(r * 4, r * 4 + 4);
        row.set([5, 4, 1, 9]); // x, y, z, w
        if (u === B) row.set([0, 1, 2, 9]); // b: history x, z; target y ranked after z (masked) → first
      });
    };
    const m = evaluateNextPeriod(task, scorer);
    // a: history {x, y}, ranking z (only rankable item left) → hit at rank 1; b: history {x, z} → y first → hit.
    assert.equal(m.users, 2);
    assert.equal(m["HR@10"], 100);
    assert.equal(m["NDCG@10"], 100);
    assert.equal(m.targets, 2);
  });

  test("a target at rank 2 scores NDCG 1/log2(3)", () => {
    // Two periods; u has history {i0}; next period target i2; items i0..i2 seen.
    const r2 = rawFromRows([
      { user: "u", item: "i0", timestamp: 1 }, { user: "v", item: "i1", timestamp: 2 }, { user: "v", item: "i2", timestamp: 3 },
      { user: "u", item: "i2", timestamp: 4 }, { user: "v", item: "i0", timestamp: 5 }, { user: "w", item: "i1", timestamp: 6 },
    ]);
    const task = nextPeriodTask(periodData(r2, 2), 0);
    assert.deepEqual(Array.from(task.users), [0, 1]);
    // u: i1 above i2 → target i2 at rank 2 → NDCG 1/log2(3); v: target i0, the only unmasked item → rank 1.
    const m = evaluateNextPeriod(task, (_c, users, out) => users.forEach((_u, r) => out.set([0, 2, 1], r * 3)));
    assert.equal(m["HR@10"], 100);
    assert.ok(Math.abs(m["NDCG@10"] - (100 * (1 / Math.log2(3) + 1)) / 2) < 1e-9);
  });

  test("stackRows keeps every row in order", () => {
    const a = InteractionMatrix.fromTriplets(2, 3, [0, 1], [2, 0], [1, 0.5]);
    const b = InteractionMatrix.fromTriplets(1, 3, [0, 0], [0, 1], [0.25, 1]);
    const s = stackRows([a, b]);
    assert.equal(s.numUsers, 3);
    assert.deepEqual([0, 1, 2].map((r) => Array.from(s.rowItems(r))), [[2], [0], [0, 1]]);
    assert.deepEqual(Array.from(s.rowValues(2)), [0.25, 1]);
    assert.throws(() => stackRows([a, InteractionMatrix.empty(1, 4)]), /item counts differ/);
  });
});
