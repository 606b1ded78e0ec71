/**
 * The DISTILL-CF run driver on a small planted dataset: validations at the
 * schedule re-pick λ from the grid and keep the best X̂; runs are
 * deterministic per seed; an abort returns the best summary so far.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runDistill, DISTILL_LAMBDA_GRID, type DistillLogEntry } from "../../lib/distill/run.ts";
import { summaryToMatrix } from "../../lib/distill/summary.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(60, 24, 3, 8, 5);
const small = { mu: 6, gamma: 4, tau: 2, samplingWorkers: 0 };

test("validates at step 25 (λ from the grid), keeps the best X̂ as a [0,1] summary with item ids", async () => {
  const log: DistillLogEntry[] = [];
  const r = await runDistill(ds, { ...small, steps: 26 }, { onLog: (e) => log.push(e) });
  const validations = log.filter((e) => e.type === "validation");
  assert.equal(validations.length, 1);
  const v = validations[0];
  assert.ok(v.type === "validation");
  assert.equal(v.step, 25);
  assert.ok(DISTILL_LAMBDA_GRID.includes(v.lambda));
  assert.equal(Object.keys(v.scores).length, DISTILL_LAMBDA_GRID.length);
  assert.equal(v.score, Math.max(...Object.values(v.scores)));
  assert.equal(r.bestStep, 25);
  assert.equal(r.bestScore, v.score);
  assert.equal(r.lambda, v.lambda);
  assert.equal(r.stepsRun, 26);
  assert.equal(r.stopReason, "max-steps");
  const steps = log.filter((e) => e.type === "step");
  assert.equal(steps.length, 26);
  for (const e of steps) assert.ok(e.type === "step" && Number.isFinite(e.loss) && e.gradientNorm > 0);
  // Until the first validation the inner solve uses the default 0.1; λ changes take effect on the steps after it.
  assert.ok(steps[0].type === "step" && steps[0].lambda === 0.1);
  assert.ok(steps[25].type === "step" && steps[25].lambda === v.lambda);
  const h = r.summary.header;
  assert.equal(h.mu, 6);
  assert.equal(h.items, 24);
  assert.deepEqual(h.itemIds, ds.itemIds);
  assert.equal(h.step, 25);
  for (const x of r.summary.values) assert.ok(x >= 0 && x <= 1);
  const m = summaryToMatrix(r.summary);
  assert.equal(m.numUsers, 6);
  // τ = 2, γ = 4, no clipping: each row sums to γ.
  for (let u = 0; u < 6; u++) {
    let s = 0;
    for (const x of m.rowValues(u)) s += x;
    assert.ok(Math.abs(s - 4) < 1e-4 || s < 4, `row ${u} sums to ${s}`);
  }
});

test("deterministic per seed; a different seed differs", async () => {
  const a = await runDistill(ds, { ...small, steps: 3 });
  const b = await runDistill(ds, { ...small, steps: 3, samplingWorkers: 2 });
  const c = await runDistill(ds, { ...small, steps: 3, seed: 7 });
  assert.deepEqual(a.summary.values, b.summary.values);
  assert.notDeepEqual(a.summary.values, c.summary.values);
  assert.equal(a.bestScore, null);
});

test("abort returns the best summary so far and says so", async () => {
  const controller = new AbortController();
  const r = await runDistill(ds, { ...small, steps: 100 }, {
    signal: controller.signal,
    onLog: (e) => {
      if (e.type === "step" && e.step === 27) controller.abort();
    },
  });
  assert.equal(r.stopReason, "interrupted");
  assert.equal(r.stepsRun, 27);
  assert.equal(r.bestStep, 25);
  assert.ok(r.bestScore !== null && r.bestScore >= 0);
  const stop = r.history[r.history.length - 1];
  assert.ok(stop.type === "stop" && stop.reason === "interrupted");
});

test("early stopping after `patience` steps without improvement", async () => {
  const r = await runDistill(ds, { ...small, steps: 200, patience: 1 });
  const vals = r.history.filter((e) => e.type === "validation");
  if (r.stopReason === "early-stop") {
    const last = vals[vals.length - 1];
    assert.ok(last.step - r.bestStep >= 1);
    assert.equal(last.type === "validation" && last.best, false);
  } else {
    // Every validation improved: all marked best.
    assert.ok(vals.every((v) => v.type === "validation" && v.best));
  }
  assert.ok(r.stepsRun < 200 || r.stopReason === "max-steps");
});

test("initialLambda 'validated': step 0 is validated and its λ drives the first steps", async () => {
  const r = await runDistill(ds, { ...small, steps: 3, initialLambda: "validated" });
  const first = r.history[0];
  assert.ok(first.type === "validation" && first.step === 0 && first.best);
  assert.ok(DISTILL_LAMBDA_GRID.includes(first.lambda));
  const steps = r.history.filter((e) => e.type === "step");
  assert.equal(steps.length, 3);
  for (const e of steps) assert.ok(e.type === "step" && e.lambda === first.lambda);
  // Without a later validation the initial sample is the best summary.
  assert.equal(r.bestStep, 0);
  assert.equal(r.bestScore, first.score);
});

test("validateEvery replaces the official schedule", async () => {
  const r = await runDistill(ds, { ...small, steps: 12, validateEvery: 5 });
  assert.deepEqual(r.history.filter((e) => e.type === "validation").map((e) => e.step), [5, 10]);
});

test("bad options fail with a message naming the option", async () => {
  await assert.rejects(runDistill(ds, { ...small, validateEvery: 0 }), /validateEvery must be an integer ≥ 1/);
  await assert.rejects(runDistill(ds, { ...small, initialLambda: -1 }), /initialLambda must be a finite number ≥ 0/);
  await assert.rejects(runDistill(ds, { mu: 0 }), /mu must be an integer ≥ 1/);
  await assert.rejects(runDistill(ds, { mu: 61 }), /mu = 61 exceeds the 60 users/);
  await assert.rejects(runDistill(ds, { ...small, tau: -1 }), /tau must be a finite number > 0/);
  await assert.rejects(runDistill(ds, { ...small, batchSize: 100 }), /batch size 100 exceeds the 60 users/);
  await assert.rejects(runDistill(ds, { ...small, lambdaGrid: [] }), /lambdaGrid/);
});
