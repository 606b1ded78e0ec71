/**
 * The DISTILL-CF run driver on a small planted dataset: validations at the
 * schedule re-pick λ from the grid and keep the best X̂; runs are
 * deterministic per seed; an abort returns the best summary so far.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runDistill, DISTILL_LAMBDA_GRID, type DistillLogEntry } from "../../lib/distill/run.ts";
import { isValidationStep, validatesAfter } from "../../lib/distill/schedule.ts";
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
  // X̂ = hardtanh(S), S = the sum of γ = 4 softmax rows, so every row of S sums
  // to exactly γ and X̂ = min(1, S) ≤ S: a row sums to ≤ γ, and to exactly γ
  // when no entry reached 1 (nothing clipped). The only error is the float32
  // storage of the summary: each value is rounded by at most 2⁻²⁴ of itself,
  // so a row's sum moves by at most 2⁻²⁴·γ; allow twice that.
  const gamma = 4;
  const tol = 2 * 2 ** -24 * gamma;
  let unclipped = 0;
  for (let u = 0; u < 6; u++) {
    let s = 0;
    for (const x of m.rowValues(u)) s += x;
    const row = r.summary.values.subarray(u * 24, (u + 1) * 24);
    if (row.every((x) => x < 1)) {
      unclipped++;
      assert.ok(Math.abs(s - gamma) <= tol, `row ${u} (nothing clipped) sums to ${s}, not γ = ${gamma}`);
    } else {
      assert.ok(s <= gamma + tol, `row ${u} (clipped) sums to ${s} > γ = ${gamma}`);
    }
  }
  // At τ = 2 after 25 steps no entry reaches 1, so every row took the exact branch.
  assert.equal(unclipped, 6);
});

test("validation schedule: every 25 steps to 200, then every 40, or every validateEvery steps", () => {
  const steps = Array.from({ length: 400 }, (_, i) => i + 1);
  assert.deepEqual(steps.filter(isValidationStep), [25, 50, 75, 100, 125, 150, 175, 200, 240, 280, 320, 360, 400]);
  assert.equal(isValidationStep(0), false);
  assert.deepEqual(steps.filter((t) => validatesAfter(t, null)), steps.filter(isValidationStep));
  assert.deepEqual(steps.filter((t) => validatesAfter(t, 90)), [90, 180, 270, 360]);
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

test("early stopping: the run stops once `patience` steps pass without a better validation, and not before", async () => {
  // 24 items < 100: every held-out item is in the top 100, so validation HR@100
  // is 100 at every λ and step. A new best must score strictly higher, so the
  // validation at step 5 stays the best and patience runs out for certain.
  const opts = { ...small, steps: 30, validateEvery: 5 };
  const validations = (r: { history: DistillLogEntry[] }) =>
    r.history.flatMap((e) => (e.type === "validation" ? [[e.step, e.score, e.best]] : []));
  const stopEntry = (r: { history: DistillLogEntry[] }) => r.history[r.history.length - 1];

  // patience 10: 15 − 5 ≥ 10 at the validation of step 15 (done when step 16 samples it); step 16 is cancelled.
  const stopped = await runDistill(ds, { ...opts, patience: 10 });
  assert.deepEqual(validations(stopped), [[5, 100, true], [10, 100, false], [15, 100, false]]);
  assert.equal(stopped.stopReason, "early-stop");
  assert.equal(stopped.stepsRun, 15);
  assert.equal(stopped.history.filter((e) => e.type === "step").length, 15);
  assert.equal(stopped.bestStep, 5);
  assert.equal(stopped.bestScore, 100);
  assert.deepEqual(stopEntry(stopped), { type: "stop", step: 15, reason: "early-stop", bestStep: 5, bestScore: 100 });

  // patience 11: 15 − 5 < 11 goes on; 20 − 5 ≥ 11 stops.
  const later = await runDistill(ds, { ...opts, patience: 11 });
  assert.equal(later.stopReason, "early-stop");
  assert.equal(later.stepsRun, 20);
  assert.equal(later.bestStep, 5);

  // patience 25: it runs out only at the validation owed after the last step (30 − 5 ≥ 25).
  const atEnd = await runDistill(ds, { ...opts, patience: 25 });
  assert.equal(atEnd.stopReason, "early-stop");
  assert.equal(atEnd.stepsRun, 30);
  assert.deepEqual(validations(atEnd).map((v) => v[0]), [5, 10, 15, 20, 25, 30]);

  // Control, patience 26: never exhausted within 30 steps, so the run goes to max-steps.
  const control = await runDistill(ds, { ...opts, patience: 26 });
  assert.equal(control.stopReason, "max-steps");
  assert.equal(control.stepsRun, 30);
  assert.deepEqual(validations(control).map((v) => v[0]), [5, 10, 15, 20, 25, 30]);
  assert.equal(control.bestStep, 5);
  assert.deepEqual(stopEntry(control), { type: "stop", step: 30, reason: "max-steps", bestStep: 5, bestScore: 100 });
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
