/**
 * DISTILL-CF through EASE (lib/distill/ease-inner.ts): the Woodbury forward
 * against EASE's closed form with an explicit I × I inverse, the hand-derived
 * gradient in X̂ against central finite differences (float64, ≤ 1e-5
 * relative), and the fast ORT version against the float64 reference.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { easeSupportObjective, FastEaseInner, type EaseInnerConfig } from "../../lib/distill/ease-inner.ts";
import { denseUserBatch } from "../../lib/distill/objective.ts";
import { denseBatch } from "../../lib/distill/fast-step.ts";
import { reconstructionLoss } from "../../lib/distill/loss.ts";
import { spdInverse } from "../../lib/linalg/cholesky.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";
import { finiteDiffAsync } from "./fd.ts";

const MU = 4;
const ITEMS = 9;
const ROWS = 6;

function problem(seed: number): { support: Float64Array; batch: Float64Array } {
  const rand = lcg(seed);
  const support = new Float64Array(MU * ITEMS).map(() => 0.05 + 0.9 * rand());
  const batch = new Float64Array(ROWS * ITEMS).map(() => (rand() < 0.35 ? 1 : 0));
  batch.fill(0, 0, ITEMS); // a user with no items
  return { support, batch };
}

function cfg(lambda: number, loss: EaseInnerConfig["loss"] = "softmax", batchBlock = ROWS): EaseInnerConfig {
  return { lambda, lambda2: 0.3, interactionsPerUser: 3, loss, batchBlock };
}

/** EASE's scores X_B·B with B = I − P·diag(1/diag P), P = (SᵀS + λI)⁻¹ formed explicitly. */
function explicitEaseScores(support: Float64Array, batch: Float64Array, lambda: number): Float64Array {
  const g = new Float64Array(ITEMS * ITEMS);
  for (let r = 0; r < MU; r++) for (let i = 0; i < ITEMS; i++) for (let j = 0; j < ITEMS; j++) g[i * ITEMS + j] += support[r * ITEMS + i] * support[r * ITEMS + j];
  const p = spdInverse(g, ITEMS, { shift: lambda });
  const b = new Float64Array(ITEMS * ITEMS);
  for (let i = 0; i < ITEMS; i++) for (let j = 0; j < ITEMS; j++) b[i * ITEMS + j] = (i === j ? 1 : 0) - p[i * ITEMS + j] / p[j * ITEMS + j];
  const q = new Float64Array(ROWS * ITEMS);
  for (let u = 0; u < ROWS; u++) for (let i = 0; i < ITEMS; i++) for (let j = 0; j < ITEMS; j++) q[u * ITEMS + j] += batch[u * ITEMS + i] * b[i * ITEMS + j];
  return q;
}

test("EASE inner forward: Woodbury loss equals EASE's explicit closed form", async () => {
  const { support, batch } = problem(3);
  for (const lambda of [0.01, 1, 30]) {
    const ours = await easeSupportObjective(support, MU, ITEMS, denseUserBatch(batch, ROWS, ITEMS), { ...cfg(lambda), lambda2: 0 }, false);
    const q = explicitEaseScores(support, batch, lambda);
    const expected = reconstructionLoss(q, batch, ROWS, ITEMS, "softmax", ROWS);
    assert.ok(Math.abs(ours.loss - expected) <= 1e-10 * Math.abs(expected), `λ ${lambda}: ${ours.loss} vs ${expected}`);
  }
});

for (const [lambda, loss, block] of [[0.5, "softmax", ROWS], [0.05, "softmax", 4], [2, "logistic", 4]] as const) {
  test(`EASE inner gradient in X̂ matches central finite differences (λ ${lambda}, ${loss}, blocks of ${block})`, async (t) => {
    const { support, batch } = problem(11);
    const ub = denseUserBatch(batch, ROWS, ITEMS);
    const c = cfg(lambda, loss, block);
    const analytic = (await easeSupportObjective(support, MU, ITEMS, ub, c, true)).dSupport!;
    const fd = await finiteDiffAsync(async (x) => (await easeSupportObjective(x, MU, ITEMS, ub, c, false)).loss, support);
    const e = relErr(analytic, fd);
    t.diagnostic(`dX̂ relative error ${e.toExponential(2)}`);
    assert.ok(e <= 1e-5, `relative error ${e}`);
  });
}

test("EASE inner: λ ≤ 0 is refused, naming lambda", async () => {
  const { support, batch } = problem(2);
  await assert.rejects(easeSupportObjective(support, MU, ITEMS, denseUserBatch(batch, ROWS, ITEMS), cfg(0)), /lambda must be a finite number > 0, got 0/);
});

for (const loss of ["softmax", "logistic"] as const) {
  test(`fast EASE inner (ORT Gemms) matches the float64 reference: loss and dX̂ (${loss})`, async (t) => {
    const backend = await getBackend({ device: "cpu" });
    const mu = 7;
    const items = 40;
    const rows = 17;
    const rand = lcg(29);
    const support = new Float64Array(mu * items).map(() => (rand() < 0.2 ? 0.6 : 0.05) + 0.3 * rand());
    const xb = new Float32Array(rows * items).map(() => (rand() < 0.2 ? 1 : 0));
    const c = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, loss, batchBlock: 5 };
    const ref = await easeSupportObjective(support, mu, items, denseUserBatch(Float64Array.from(xb), rows, items), c, true);
    const fast = await new FastEaseInner(backend).objective(support, mu, items, denseBatch(xb, rows, items), c, true);
    const eLoss = Math.abs(fast.loss - ref.loss) / Math.abs(ref.loss);
    const eGrad = relErr(fast.dSupport!, ref.dSupport!);
    t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dX̂ rel err ${eGrad.toExponential(2)}`);
    assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
    assert.ok(eGrad <= 1e-4, `dX̂: ${eGrad}`);
  });
}

test("distilling through EASE end to end: dL (sampling backward of EASE's dX̂) matches central finite differences in L", async (t) => {
  const { sampleSupport, sampleSupportBackward, stepNoise } = await import("../../lib/distill/sample.ts");
  const rand = lcg(19);
  const logits = new Float64Array(MU * ITEMS).map(() => (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5));
  const { batch } = problem(23);
  const ub = denseUserBatch(batch, ROWS, ITEMS);
  const sampleCfg = { gamma: 3, tau: 1.5 };
  const noise = stepNoise(5, 2);
  const loss = async (l: Float64Array): Promise<number> => (await easeSupportObjective(sampleSupport(l, MU, ITEMS, sampleCfg, noise).support, MU, ITEMS, ub, cfg(0.2), false)).loss;
  const { support, summed } = sampleSupport(logits, MU, ITEMS, sampleCfg, noise);
  const dSupport = (await easeSupportObjective(support, MU, ITEMS, ub, cfg(0.2), true)).dSupport!;
  const analytic = sampleSupportBackward(logits, MU, ITEMS, sampleCfg, noise, summed, dSupport);
  const fd = await finiteDiffAsync(loss, logits);
  const e = relErr(analytic, fd);
  t.diagnostic(`dL relative error ${e.toExponential(2)}`);
  assert.ok(e <= 1e-5, `relative error ${e}`);
});
