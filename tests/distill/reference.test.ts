/** The float64 reference DISTILL-CF loop (lib/distill/reference.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { distill, matrixUserBatch, type DistillOptions } from "../../lib/distill/reference.ts";
import { float64GramEngine, type GramEngine } from "../../lib/distill/gram-engine.ts";
import { sampleSupport, stepNoise } from "../../lib/distill/sample.ts";

/** 40 users in two taste groups over 30 items, plus a little noise. */
function plantedMatrix(): InteractionMatrix {
  let s = 12345;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 40; u++) {
    const group = u % 2;
    for (let i = 0; i < 30; i++) {
      const inGroup = (i < 15 ? 0 : 1) === group;
      if (rand() < (inGroup ? 0.4 : 0.03)) {
        users.push(u);
        items.push(i);
      }
    }
  }
  return InteractionMatrix.fromTriplets(40, 30, users, items);
}

const small: Partial<DistillOptions> = { mu: 4, gamma: 5, tau: 1, lambda: 0.1, maxSteps: 30, seed: 7 };

test("distill is deterministic per seed and the loss goes down", async () => {
  const train = plantedMatrix();
  const a = await distill(train, small);
  const b = await distill(train, small);
  assert.deepEqual(a.summary, b.summary);
  assert.deepEqual(a.losses, b.losses);
  const c = await distill(train, { ...small, seed: 8 });
  assert.notDeepEqual(c.losses, a.losses);
  assert.equal(a.stepsRun, 30);
  assert.equal(a.losses.length, 30);
  const last = a.losses.slice(-5).reduce((x, y) => x + y) / 5;
  assert.ok(last < a.losses[0], `loss ${a.losses[0]} → ${last}`);
  assert.ok(a.summary.every((v) => v >= 0 && v <= 1));
  assert.equal(new Set(a.initialUsers).size, 4);
  // Without a validation hook the result is X̂ of the final logits under the next step's noise.
  const expected = sampleSupport(a.logits, 4, 30, { gamma: 5, tau: 1 }, stepNoise(7, 31)).support;
  assert.deepEqual(a.summary, expected);
  assert.ok(Number.isNaN(a.bestScore));
});

test("validation hook: re-picked λ is used, best X̂ kept, patience stops the run", async () => {
  const train = plantedMatrix();
  const seenLambdas: number[] = [];
  const calls: number[] = [];
  const scores = new Map([[25, 0.5], [50, 0.4], [75, 0.3]]);
  const res = await distill(
    train,
    { ...small, maxSteps: 200, patience: 50 },
    {
      validate: (req) => {
        calls.push(req.step);
        assert.equal(req.summary.length, 4 * 30);
        return { score: scores.get(req.step) ?? 0, lambda: req.step === 25 ? 5 : 1 };
      },
      onStep: (info) => seenLambdas[info.step] = info.lambda,
    },
  );
  assert.deepEqual(calls, [25, 50, 75]);
  assert.equal(res.stepsRun, 75);
  assert.ok(res.stoppedEarly);
  assert.equal(res.bestStep, 25);
  assert.equal(res.bestScore, 0.5);
  assert.equal(res.lambda, 5);
  assert.equal(seenLambdas[25], 0.1);
  assert.equal(seenLambdas[26], 5);
  assert.equal(seenLambdas[51], 1);
  // The kept X̂ is the one validated at step 25, not the final one.
  const run25 = await distill(train, { ...small, maxSteps: 25 }, { validate: () => ({ score: 1, lambda: 5 }) });
  assert.deepEqual(res.summary, run25.summary);
  assert.deepEqual(run25.summary, sampleSupport(run25.logits, 4, 30, { gamma: 5, tau: 1 }, stepNoise(7, 26)).support);
});

test("random batches, the logistic loss and a custom Gram engine plug in", async () => {
  const train = plantedMatrix();
  let gramCalls = 0;
  let backwardCalls = 0;
  const counting: GramEngine = {
    gram: (...args) => {
      gramCalls++;
      return float64GramEngine.gram(...args);
    },
    gramBackward: (...args) => {
      backwardCalls++;
      return float64GramEngine.gramBackward(...args);
    },
  };
  const opts: Partial<DistillOptions> = { ...small, maxSteps: 5, batchSize: 16, batchBlock: 8, loss: "logistic", engine: counting, depth: 2 };
  const a = await distill(train, opts);
  // Per step: K_SS + 2 batch blocks forward, 2 blocks + K_SS backward.
  assert.equal(gramCalls, 5 * 3);
  assert.equal(backwardCalls, 5 * 3);
  const b = await distill(train, opts);
  assert.deepEqual(a.losses, b.losses);
});

test("matrixUserBatch gives binary rows (summed duplicates become 1)", () => {
  const m = InteractionMatrix.fromTriplets(2, 3, [0, 0, 1], [2, 2, 0]);
  assert.equal(m.rowValues(0)[0], 2);
  const block = matrixUserBatch(m, Int32Array.from([1, 0])).block(0, 2);
  assert.deepEqual([...block], [1, 0, 0, 0, 0, 1]);
});

test("distill rejects bad options", async () => {
  const train = plantedMatrix();
  await assert.rejects(distill(train, { ...small, mu: 41 }), /exceeds the 40 users/);
  await assert.rejects(distill(train, { ...small, tau: 0 }), /tau/);
  await assert.rejects(distill(train, { ...small, batchSize: 0 }), /batchSize/);
  await assert.rejects(distill(InteractionMatrix.empty(3, 4), small), /no interactions/);
});
