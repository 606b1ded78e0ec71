/**
 * DISTILL-CF as a sampler: μ = the user budget synthetic rows over the same
 * items, weights in [0, 1], deterministic per seed, distilling the given
 * (e.g. noisy) training matrix while validating on the dataset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DistillCfSampler } from "../../lib/sampling/distill-cf.ts";
import { injectNoise } from "../../lib/sampling/noise.ts";
import { makeSampler } from "../../lib/sampling/registry.ts";
import { plantedDataset } from "../models/synthetic.ts";
import { readdirSync } from "node:fs";
import { withTempDir } from "../helpers.ts";

const ds = plantedDataset(60, 24, 3, 8, 5);
const small = { gamma: 4, tau: 2, steps: 3, samplingWorkers: 0 };

test("keeps exactly μ = budget synthetic users, values in [0, 1], deterministic per seed", async () => {
  const s = new DistillCfSampler(ds, small);
  const a = await s.sample(ds.train, { users: 7 }, 3);
  assert.equal(a.synthetic, true);
  assert.equal(a.train.numUsers, 7);
  assert.equal(a.train.numItems, 24);
  assert.equal(a.keptUsers.length, 7);
  assert.equal(new Set(a.keptUsers).size, 7, "distinct initial users");
  assert.equal(a.keptInteractions, a.train.nnz);
  for (const v of a.train.values) assert.ok(v > 0 && v <= 1);
  const b = await s.sample(ds.train, { users: 7 }, 3);
  assert.deepEqual(a.train.values, b.train.values);
  const c = await s.sample(ds.train, { users: 7 }, 4);
  assert.notDeepEqual(a.train.values, c.train.values);
  // An interaction share reads as that share of the users.
  const d = await s.sample(ds.train, { interactions: 0.1 }, 3);
  assert.equal(d.train.numUsers, 6);
});

test("distils the matrix it is given and checks its shape", async () => {
  const s = makeSampler("distill-cf", { dataset: ds, distill: small });
  const noisy = injectNoise(ds.train, 20, 1).train;
  const clean = await s.sample(ds.train, { users: 5 }, 1);
  const fromNoisy = await s.sample(noisy, { users: 5 }, 1);
  assert.notDeepEqual(clean.train.values, fromNoisy.train.values);
  await assert.rejects(s.sample(injectNoise(plantedDataset(30, 24, 3, 8, 5).train, 0, 1).train, { users: 5 }, 1), /does not match dataset planted/);
  await assert.rejects(s.sample(ds.train, { users: 0 }, 1), /user budget must be a positive integer/);
});

test("cacheDir: identical inputs read the saved summary; another matrix, seed or option distils anew", async () => {
  await withTempDir(async (dir) => {
    let runs = 0;
    const hooks = { onLog: (e: { type: string }) => void (e.type === "stop" && runs++) };
    const s = makeSampler("distill-cf", { dataset: ds, distill: small, distillHooks: hooks, distillCache: dir });
    const a = await s.sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 1);
    assert.equal(readdirSync(dir).length, 2, "summary and sidecar");
    const b = await s.sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 1, "second call is a cache hit");
    assert.deepEqual(b.train.values, a.train.values);
    assert.deepEqual(b.keptUsers, a.keptUsers);
    assert.equal(b.info?.lambda, a.info?.lambda);
    assert.match(String(b.info?.cached), /planted-mu5-seed1-[0-9a-f]{8}$/);
    await s.sample(ds.train, { users: 5 }, 2);
    await s.sample(injectNoise(ds.train, 20, 1).train, { users: 5 }, 1);
    await makeSampler("distill-cf", { dataset: ds, distill: { ...small, tau: 3 }, distillHooks: hooks, distillCache: dir }).sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 4);
    // Workers do not change the result, so they share the entry.
    await makeSampler("distill-cf", { dataset: ds, distill: { ...small, samplingWorkers: 2 }, distillHooks: hooks, distillCache: dir }).sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 4);
    // The float64 inner products and device sampling change the result: new entries.
    await makeSampler("distill-cf", { dataset: ds, distill: { ...small, innerPrecision: "float64" }, distillHooks: hooks, distillCache: dir }).sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 5);
    await makeSampler("distill-cf", { dataset: ds, distill: { ...small, sampling: "device" }, distillHooks: hooks, distillCache: dir }).sample(ds.train, { users: 5 }, 1);
    assert.equal(runs, 6);
  });
});

test("cache keys written before innerPrecision and sampling existed stay the keys of float64 inner products with CPU sampling", () => {
  const stem = (options: Record<string, unknown>): string => new DistillCfSampler(ds, options, {}, "/c").cacheStem(ds.train, 5, 1);
  const old = stem({ innerPrecision: "float64" });
  assert.equal(stem({ innerPrecision: "float64", sampling: "workers" }), old);
  assert.equal(stem({ innerPrecision: "float64", sampling: "auto", device: "cpu" }), old);
  assert.notEqual(stem({ innerPrecision: "float64", sampling: "auto", device: "webgpu" }), old);
  assert.notEqual(stem({}), old, "the float32 default is a new key");
});
