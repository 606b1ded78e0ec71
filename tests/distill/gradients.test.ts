/**
 * DISTILL-CF's analytic gradients against central finite differences, float64,
 * on tiny problems (μ = 4, I = 12, batch 6, γ = 3, fixed noise), for every
 * stage separately and end to end, depth 1 and 2, both losses. Acceptance:
 * ‖analytic − FD‖₂/‖FD‖₂ ≤ 1e-5; measured errors are printed as diagnostics.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ntkGramF64 } from "../../lib/ntk/ntk-grad.ts";
import { float64GramEngine } from "../../lib/distill/gram-engine.ts";
import { cardinalityPenalty, reconstructionLoss, type ReconstructionLoss } from "../../lib/distill/loss.ts";
import {
  denseUserBatch,
  distillObjective,
  scoreBackward,
  scoreForward,
  supportObjective,
  type ObjectiveConfig,
} from "../../lib/distill/objective.ts";
import { sampleSupport, sampleSupportBackward, stepNoise } from "../../lib/distill/sample.ts";
import { krrSolve, krrSolveBackward } from "../../lib/distill/solve.ts";
import { finiteDiff, lcg, relErr } from "../helpers.ts";
import { finiteDiffAsync } from "./fd.ts";
import { deviceGumbelSource } from "../../lib/distill/device-noise.ts";

const MU = 4;
const ITEMS = 12;
const BATCH = 6;
const GAMMA = 3;
const TOLERANCE = 1e-5;

interface Problem {
  logits: Float64Array;
  batch: Float64Array;
  support: Float64Array;
}

/** Logits = binary init rows + noise; binary batch rows (one user empty). */
function makeProblem(seed: number, tau: number): Problem {
  const rand = lcg(seed);
  const logits = new Float64Array(MU * ITEMS);
  for (let p = 0; p < logits.length; p++) logits[p] = (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5);
  const batch = new Float64Array(BATCH * ITEMS);
  for (let p = ITEMS; p < batch.length; p++) batch[p] = rand() < 0.3 ? 1 : 0;
  const { support } = sampleSupport(logits, MU, ITEMS, { gamma: GAMMA, tau }, stepNoise(17, 5));
  return { logits, batch, support };
}

function config(depth: number, loss: ReconstructionLoss, tau: number, batchBlock = BATCH): ObjectiveConfig & { gamma: number; tau: number } {
  return {
    lambda: 0.1,
    lambda2: 0.5,
    interactionsPerUser: 3,
    depth,
    loss,
    engine: float64GramEngine,
    batchBlock,
    gamma: GAMMA,
    tau,
  };
}

function check(t: { diagnostic(msg: string): void }, name: string, analytic: ArrayLike<number>, fd: ArrayLike<number>): void {
  const e = relErr(analytic, fd);
  t.diagnostic(`${name}: relative error ${e.toExponential(2)}`);
  assert.ok(e <= TOLERANCE, `${name}: relative error ${e} > ${TOLERANCE}`);
}

const losses: ReconstructionLoss[] = ["softmax", "logistic"];

for (const loss of losses) {
  test(`loss stage dP (${loss})`, (t) => {
    const rand = lcg(3);
    const scores = new Float64Array(BATCH * ITEMS).map(() => 4 * (rand() - 0.5));
    const { batch } = makeProblem(1, 10);
    const dScores = new Float64Array(BATCH * ITEMS);
    reconstructionLoss(scores, batch, BATCH, ITEMS, loss, BATCH, dScores);
    const fd = finiteDiff((x) => reconstructionLoss(x, batch, BATCH, ITEMS, loss, BATCH), scores);
    check(t, `dP ${loss}`, dScores, fd);
  });
}

for (const depth of [1, 2]) {
  for (const loss of losses) {
    const tag = `depth ${depth}, ${loss}`;

    test(`score stage dα and dK_BS (${tag})`, (t) => {
      const { batch, support } = makeProblem(2, 10);
      const kBS = ntkGramF64(batch, BATCH, support, MU, ITEMS, depth);
      const kSS = ntkGramF64(support, MU, support, MU, ITEMS, depth);
      const alpha = krrSolve(kSS, MU, support, ITEMS, 0.1).alpha;
      const f = (k: Float64Array, a: Float64Array): number =>
        reconstructionLoss(scoreForward(k, BATCH, MU, a, ITEMS), batch, BATCH, ITEMS, loss, BATCH);
      const dScores = new Float64Array(BATCH * ITEMS);
      reconstructionLoss(scoreForward(kBS, BATCH, MU, alpha, ITEMS), batch, BATCH, ITEMS, loss, BATCH, dScores);
      const dAlpha = new Float64Array(MU * ITEMS);
      const dKBS = scoreBackward(kBS, BATCH, MU, alpha, ITEMS, dScores, dAlpha);
      check(t, `dα ${tag}`, dAlpha, finiteDiff((a) => f(kBS, a), alpha));
      check(t, `dK_BS ${tag}`, dKBS, finiteDiff((k) => f(k, alpha), kBS));
    });

    test(`solve stage dK_SS (trace-scaled ridge) and dX̂ through the RHS (${tag})`, (t) => {
      const { batch, support } = makeProblem(3, 10);
      const kBS = ntkGramF64(batch, BATCH, support, MU, ITEMS, depth);
      const kSS = ntkGramF64(support, MU, support, MU, ITEMS, depth);
      const lambda = 0.1;
      const f = (k: Float64Array, rhs: Float64Array): number =>
        reconstructionLoss(
          scoreForward(kBS, BATCH, MU, krrSolve(k, MU, rhs, ITEMS, lambda).alpha, ITEMS),
          batch, BATCH, ITEMS, loss, BATCH,
        );
      const solution = krrSolve(kSS, MU, support, ITEMS, lambda);
      const dScores = new Float64Array(BATCH * ITEMS);
      reconstructionLoss(scoreForward(kBS, BATCH, MU, solution.alpha, ITEMS), batch, BATCH, ITEMS, loss, BATCH, dScores);
      const dAlpha = new Float64Array(MU * ITEMS);
      scoreBackward(kBS, BATCH, MU, solution.alpha, ITEMS, dScores, dAlpha);
      const { dKss, dSupport } = krrSolveBackward(solution, MU, ITEMS, lambda, dAlpha);
      check(t, `dK_SS ${tag}`, dKss, finiteDiff((k) => f(k, support), kSS));
      check(t, `dX̂ (solve RHS) ${tag}`, dSupport, finiteDiff((x) => f(kSS, x), support));
    });

    test(`support objective dX̂ end to end from X̂ (${tag})`, async (t) => {
      const { batch, support } = makeProblem(4, 10);
      const cfg = config(depth, loss, 10);
      const users = denseUserBatch(batch, BATCH, ITEMS);
      const res = await supportObjective(support, MU, ITEMS, users, cfg);
      assert.ok(res.dSupport);
      const fd = await finiteDiffAsync(async (x) => (await supportObjective(x, MU, ITEMS, users, cfg, false)).loss, support);
      check(t, `dX̂ ${tag}`, res.dSupport, fd);
      // Blocked batches give the same loss and gradient.
      const blocked = await supportObjective(support, MU, ITEMS, users, { ...cfg, batchBlock: 4 });
      assert.ok(Math.abs(blocked.loss - res.loss) <= 1e-12 * Math.abs(res.loss));
      assert.ok(blocked.dSupport && relErr(blocked.dSupport, res.dSupport) < 1e-12);
    });

    for (const tau of [10, 0.3]) {
      test(`full objective dL through every Gumbel sample, τ = ${tau} (${tag})`, async (t) => {
        const { logits, batch } = makeProblem(5, tau);
        const cfg = config(depth, loss, tau);
        const users = denseUserBatch(batch, BATCH, ITEMS);
        const noise = stepNoise(17, 5);
        const res = await distillObjective(logits, MU, ITEMS, users, cfg, noise);
        assert.ok(res.dLogits);
        const { summed } = sampleSupport(logits, MU, ITEMS, cfg, noise);
        const clipped = summed.filter((v) => v > 1).length;
        if (tau < 1) {
          // The hardtanh must act here, and no entry may sit within FD reach of its kink.
          assert.ok(clipped > 0, "expected some clipped entries at τ = 0.3");
          assert.ok(summed.every((v) => Math.abs(v - 1) > 1e-3), "an entry sits at the hardtanh kink");
        } else {
          assert.equal(clipped, 0);
        }
        const fd = await finiteDiffAsync(
          async (x) => (await distillObjective(x, MU, ITEMS, users, cfg, noise, false)).loss,
          logits,
        );
        check(t, `dL τ=${tau} ${tag} (${clipped} clipped)`, res.dLogits, fd);
      });
    }
  }
}

test("sample stage dL alone, with the official duplicated-first-sample quirk", (t) => {
  const { logits } = makeProblem(6, 0.7);
  const rand = lcg(9);
  const upstream = new Float64Array(MU * ITEMS).map(() => rand() - 0.5);
  const cfg = { gamma: GAMMA, tau: 0.7 };
  const noise = stepNoise(3, 8, true);
  const f = (x: Float64Array): number => {
    const { support } = sampleSupport(x, MU, ITEMS, cfg, noise);
    let s = 0;
    for (let p = 0; p < support.length; p++) s += upstream[p] * support[p];
    return s;
  };
  const { summed } = sampleSupport(logits, MU, ITEMS, cfg, noise);
  const analytic = sampleSupportBackward(logits, MU, ITEMS, cfg, noise, summed, upstream);
  check(t, "dL sample stage (quirk)", analytic, finiteDiff(f, logits));
  // With the quirk, samples 0 and 1 coincide: γ = 2 gives exactly 2·softmax(sample 0).
  const two = sampleSupport(logits, MU, ITEMS, { gamma: 2, tau: 0.7 }, noise).summed;
  const one = sampleSupport(logits, MU, ITEMS, { gamma: 1, tau: 0.7 }, noise).summed;
  for (let p = 0; p < one.length; p++) assert.equal(two[p], 2 * one[p]);
});

test("penalty gradient is λ₂/(μ·N/U) and the value is mean row sum scaled", () => {
  const support = new Float64Array([0.5, 0.25, 1, 0, 0.25, 0.5]);
  const { value, gradient } = cardinalityPenalty(support, 2, 1e-3, 4);
  assert.ok(Math.abs(value - (1e-3 * (2.5 / 2)) / 4) < 1e-18);
  assert.equal(gradient, 1e-3 / (2 * 4));
});

test("stage inputs are checked", async () => {
  const { batch, support } = makeProblem(7, 10);
  const users = denseUserBatch(batch, BATCH, ITEMS);
  await assert.rejects(supportObjective(support.subarray(1), MU, ITEMS, users, config(1, "softmax", 10)), /support has/);
  await assert.rejects(supportObjective(support, MU, ITEMS, users, { ...config(1, "softmax", 10), batchBlock: 0 }), /batchBlock/);
  assert.throws(() => krrSolve(new Float64Array(MU * MU), MU, support, ITEMS, 0), /not numerically positive definite/);
  assert.throws(() => reconstructionLoss(new Float64Array(2), new Float64Array(2), 1, 2, "hinge" as ReconstructionLoss, 1), /unknown loss/);
  assert.throws(() => sampleSupport(new Float64Array(MU * ITEMS), MU, ITEMS, { gamma: 0, tau: 1 }, stepNoise(1, 1)), /gamma/);
});

test("the float64 objective on device sampling's noise stream (the device path's reference): dL by central differences", async (t) => {
  const { logits, batch } = makeProblem(11, 0.7);
  const cfg = config(1, "softmax", 0.7);
  const users = denseUserBatch(batch, BATCH, ITEMS);
  const noise = deviceGumbelSource(17, 5);
  const res = await distillObjective(logits, MU, ITEMS, users, cfg, noise);
  assert.ok(res.dLogits);
  const fd = await finiteDiffAsync(async (x) => (await distillObjective(x, MU, ITEMS, users, cfg, noise, false)).loss, logits);
  check(t, "dL on the device noise stream", res.dLogits, fd);
});
