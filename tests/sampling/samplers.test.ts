/**
 * The heuristic and SVP-CF samplers on small random data: each keeps exactly
 * the requested budget (± one user's interactions for user samplers), sees
 * and returns only training rows, and is deterministic per seed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { Rng } from "../../lib/random.ts";
import { HeadUserSampler, InteractionRandomSampler, UserRandomSampler } from "../../lib/sampling/heuristic.ts";
import { formatBudget, makeSampler, parseBudget, SAMPLER_NAMES } from "../../lib/sampling/registry.ts";
import { type Budget, expandSample, type Sampler, type SampleResult, usersWithInteractions } from "../../lib/sampling/sampler.ts";
import { SvpCfUserSampler } from "../../lib/sampling/svp-cf.ts";

/** Users with 0..maxPerUser distinct items (some empty), a few duplicate-summed values of 2. */
function randomMatrix(numUsers: number, numItems: number, maxPerUser: number, seed: number): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  const vs: number[] = [];
  for (let u = 0; u < numUsers; u++) {
    const n = u % 9 === 4 ? 0 : 1 + rng.int(maxPerUser);
    const items = rng.shuffle(Array.from({ length: numItems }, (_, i) => i)).slice(0, n);
    for (const i of items) {
      us.push(u);
      is.push(i);
      vs.push(rng.next() < 0.05 ? 2 : 1);
    }
  }
  return InteractionMatrix.fromTriplets(numUsers, numItems, us, is, vs);
}

const train = randomMatrix(120, 40, 15, 3);
const maxRow = Math.max(...Array.from({ length: train.numUsers }, (_, u) => train.rowNnz(u)));
const fastSvp = new SvpCfUserSampler({ epochs: 8 });
const userSamplers: Sampler[] = [new UserRandomSampler(), new HeadUserSampler(), fastSvp];
const allSamplers: Sampler[] = [new InteractionRandomSampler(), ...userSamplers];

/** Every row of the sample equals its real user's training row. */
function assertRowsFromTrain(r: SampleResult, source: InteractionMatrix, exact: boolean): void {
  assert.equal(r.train.numUsers, r.keptUsers.length);
  assert.equal(r.train.numItems, source.numItems);
  assert.equal(r.keptInteractions, r.train.nnz);
  for (let k = 1; k < r.keptUsers.length; k++) assert.ok(r.keptUsers[k] > r.keptUsers[k - 1], "kept users increasing");
  for (let row = 0; row < r.train.numUsers; row++) {
    const u = r.keptUsers[row];
    assert.ok(r.train.rowNnz(row) > 0, "no empty kept rows");
    const items = r.train.rowItems(row);
    const values = r.train.rowValues(row);
    if (exact) assert.deepEqual(Array.from(items), Array.from(source.rowItems(u)));
    for (let p = 0; p < items.length; p++) {
      assert.ok(source.has(u, items[p]), `user ${u} item ${items[p]} not in train`);
      const srcIdx = Array.from(source.rowItems(u)).indexOf(items[p]);
      assert.equal(values[p], source.rowValues(u)[srcIdx]);
    }
  }
}

test("interaction RNS keeps exactly round(f · nnz) training entries, all from train", async () => {
  const s = new InteractionRandomSampler();
  for (const f of [0.05, 0.3, 0.77, 1]) {
    const r = await s.sample(train, { interactions: f }, 1);
    assert.equal(r.keptInteractions, Math.round(f * train.nnz));
    assert.equal(r.synthetic, false);
    assertRowsFromTrain(r, train, false);
  }
  // A user budget reads as that many users' share of the interactions.
  const withEntries = usersWithInteractions(train).length;
  const r = await s.sample(train, { users: 30 }, 1);
  assert.equal(r.keptInteractions, Math.round((30 / withEntries) * train.nnz));
});

test("user samplers keep exactly n users for a user budget", async () => {
  for (const s of userSamplers) {
    for (const n of [1, 7, 50, usersWithInteractions(train).length]) {
      const r = await s.sample(train, { users: n }, 5);
      assert.equal(r.keptUsers.length, n, `${s.name} n=${n}`);
      assertRowsFromTrain(r, train, true);
    }
  }
});

test("user samplers keep the interaction budget within one user's interactions", async () => {
  for (const s of userSamplers) {
    for (const f of [0.02, 0.1, 0.5, 0.9]) {
      const target = Math.round(f * train.nnz);
      const r = await s.sample(train, { interactions: f }, 9);
      assert.ok(r.keptInteractions <= target, `${s.name} f=${f}: kept ${r.keptInteractions} > target ${target}`);
      assert.ok(r.keptInteractions > target - maxRow, `${s.name} f=${f}: kept ${r.keptInteractions} far below ${target}`);
      assertRowsFromTrain(r, train, true);
    }
  }
});

test("deterministic per seed; another seed gives another sample", async () => {
  for (const s of [new InteractionRandomSampler(), new UserRandomSampler(), new SvpCfUserSampler({ epochs: 8 })]) {
    const a = await s.sample(train, { users: 40 }, 11);
    const b = await s.sample(train, { users: 40 }, 11);
    const c = await s.sample(train, { users: 40 }, 12);
    assert.deepEqual(a.keptUsers, b.keptUsers, s.name);
    assert.deepEqual(a.train.indices, b.train.indices, s.name);
    assert.notDeepEqual([a.keptUsers, a.train.indices], [c.keptUsers, c.train.indices], s.name);
  }
});

test("head user keeps the heaviest users", async () => {
  const r = await new HeadUserSampler().sample(train, { users: 20 }, 2);
  const kept = new Set(r.keptUsers);
  const minKept = Math.min(...Array.from(r.keptUsers, (u) => train.rowNnz(u)));
  for (const u of usersWithInteractions(train)) if (!kept.has(u)) assert.ok(train.rowNnz(u) <= minKept, `dropped user ${u} is heavier than a kept one`);
});

test("samplers never touch validation or test: a saved-shape sample leaves the other splits as they were", async () => {
  const validation = randomMatrix(120, 40, 3, 8);
  const testSplit = randomMatrix(120, 40, 3, 9);
  const frozen = [validation.indices.slice(), validation.values.slice(), testSplit.indices.slice(), testSplit.values.slice(), train.indices.slice()];
  const ds: Dataset = {
    name: "toy", train, validation, test: testSplit, duplicates: "sum",
    userIds: Array.from({ length: 120 }, (_, u) => `u${u}`), itemIds: Array.from({ length: 40 }, (_, i) => `i${i}`),
  };
  for (const s of allSamplers) {
    const r = await s.sample(ds.train, { interactions: 0.4 }, 3);
    const full = expandSample(r, ds.train.numUsers);
    assert.equal(full.numUsers, 120);
    assert.equal(full.nnz, r.keptInteractions);
    for (let row = 0; row < r.train.numUsers; row++) assert.deepEqual(full.rowItems(r.keptUsers[row]), r.train.rowItems(row));
  }
  // The samplers only read: every input array is unchanged.
  assert.deepEqual([validation.indices, validation.values, testSplit.indices, testSplit.values, train.indices], frozen);
});

test("bad budgets are rejected with errors naming the problem", async () => {
  const s = new UserRandomSampler();
  const bad: [Budget, RegExp][] = [
    [{ users: 0 }, /user budget must be a positive integer, got 0/],
    [{ users: 2.5 }, /user budget must be a positive integer/],
    [{ users: 10_000 }, /exceeds the \d+ users with training interactions/],
    [{ interactions: 0 }, /share in \(0, 1\], got 0/],
    [{ interactions: 1.5 }, /share in \(0, 1\]/],
    [{ interactions: 1e-9 }, /keeps no interaction/],
  ];
  for (const [b, re] of bad) await assert.rejects(s.sample(train, b, 1), re);
  await assert.rejects(s.sample(InteractionMatrix.empty(3, 4), { users: 1 }, 1), /no interactions/);
});

test("budget parsing: % and fractions are kept interaction shares, integers are users", () => {
  assert.deepEqual(parseBudget("10%"), { interactions: 0.1 });
  assert.deepEqual(parseBudget("100%"), { interactions: 1 });
  assert.deepEqual(parseBudget("0.25"), { interactions: 0.25 });
  assert.deepEqual(parseBudget("500"), { users: 500 });
  for (const bad of ["0%", "120%", "-5", "abc", "", "1.5", "0", "10 %x"]) assert.throws(() => parseBudget(bad), /budget/, bad);
  assert.equal(formatBudget({ interactions: 0.1 }), "10% of interactions");
  assert.equal(formatBudget({ users: 7 }), "7 users");
  assert.throws(() => makeSampler("random"), /unknown sampler 'random' \(known: interaction-random/);
  assert.throws(() => makeSampler("distill-cf"), /needs the dataset/);
  for (const n of SAMPLER_NAMES.filter((n) => n !== "distill-cf")) assert.equal(makeSampler(n).name, n);
});
