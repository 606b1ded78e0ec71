/**
 * Learned regression targets Y (KIP): the float64 reference objective's
 * gradient in Y against central finite differences (≤ 1e-5 relative), Y = X̂
 * giving the paper's loss, and the fast engine's dTargets against the
 * reference (≤ 1e-4, as fast.test.ts checks dL).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { float64GramEngine } from "../../lib/distill/gram-engine.ts";
import { denseUserBatch, supportObjective, type ObjectiveConfig } from "../../lib/distill/objective.ts";
import { denseBatch, emptyStepTimings, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";
import { finiteDiffAsync } from "./fd.ts";

const MU = 4;
const ITEMS = 12;
const ROWS = 6;

function problem(seed: number) {
  const rand = lcg(seed);
  const support = new Float64Array(MU * ITEMS).map(() => 0.05 + 0.9 * rand());
  const targets = new Float64Array(MU * ITEMS).map(() => 1.5 * rand() - 0.2);
  const batch = new Float64Array(ROWS * ITEMS).map(() => (rand() < 0.3 ? 1 : 0));
  return { support, targets, batch };
}

function config(depth: number, loss: ObjectiveConfig["loss"], targets: Float64Array | null): ObjectiveConfig {
  return { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth, loss, engine: float64GramEngine, batchBlock: 4, targets };
}

for (const [depth, loss] of [[1, "softmax"], [2, "logistic"]] as const) {
  test(`reference objective: ∂loss/∂Y and ∂loss/∂X̂ with learned targets match central finite differences (depth ${depth}, ${loss})`, async (t) => {
    const { support, targets, batch } = problem(5 + depth);
    const ub = denseUserBatch(batch, ROWS, ITEMS);
    const res = await supportObjective(support, MU, ITEMS, ub, config(depth, loss, targets), true);
    assert.ok(res.dTargets && res.dSupport);
    const fdY = await finiteDiffAsync(async (y) => (await supportObjective(support, MU, ITEMS, ub, config(depth, loss, y), false)).loss, targets);
    const fdX = await finiteDiffAsync(async (x) => (await supportObjective(x, MU, ITEMS, ub, config(depth, loss, targets), false)).loss, support);
    const eY = relErr(res.dTargets, fdY);
    const eX = relErr(res.dSupport, fdX);
    t.diagnostic(`dY relative error ${eY.toExponential(2)}, dX̂ relative error ${eX.toExponential(2)}`);
    assert.ok(eY <= 1e-5, `dY: ${eY}`);
    assert.ok(eX <= 1e-5, `dX̂: ${eX}`);
  });
}

test("reference objective: targets = X̂ give the paper's loss, and dY + dX̂ = the paper's dX̂", async () => {
  const { support, batch } = problem(9);
  const ub = denseUserBatch(batch, ROWS, ITEMS);
  const paper = await supportObjective(support, MU, ITEMS, ub, config(1, "softmax", null), true);
  const kip = await supportObjective(support, MU, ITEMS, ub, config(1, "softmax", Float64Array.from(support)), true);
  assert.equal(paper.dTargets, null);
  assert.ok(Math.abs(kip.loss - paper.loss) <= 1e-12 * Math.abs(paper.loss));
  const sum = kip.dSupport!.map((v, i) => v + kip.dTargets![i]);
  assert.ok(relErr(sum, paper.dSupport!) <= 1e-12);
});

test("fast engine's dTargets and dX̂ match the float64 reference with learned targets", async (t) => {
  const backend = await getBackend({ device: "cpu" });
  const engine = new FastDistillEngine(backend, { samplingWorkers: 0 });
  const mu = 6;
  const items = 40;
  const rows = 13;
  const rand = lcg(41);
  const support = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 0.7 : 0.05) + 0.2 * rand());
  const targets = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 1 : 0) + 0.3 * (rand() - 0.5));
  const xb = new Float32Array(rows * items).map(() => (rand() < 0.25 ? 1 : 0));
  const common = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth: 1, loss: "softmax" as const, targets };
  const ref = await supportObjective(support, mu, items, denseUserBatch(Float64Array.from(xb), rows, items), { ...common, engine: float64GramEngine, batchBlock: rows });
  const timings = emptyStepTimings();
  const fast = await engine.supportObjective(support, mu, items, denseBatch(xb, rows, items), { ...common, gamma: 1, tau: 1, seed: 0, step: 0, batchBlock: 5 }, true, timings);
  const eLoss = Math.abs(fast.loss - ref.loss) / Math.abs(ref.loss);
  const eY = relErr(fast.dTargets!, ref.dTargets!);
  const eX = relErr(fast.dSupport!, ref.dSupport!);
  t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dY rel err ${eY.toExponential(2)}, dX̂ rel err ${eX.toExponential(2)}`);
  assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
  assert.ok(eY <= 1e-4, `dY: ${eY}`);
  assert.ok(eX <= 1e-4, `dX̂: ${eX}`);
  await engine.close();
});

test("fast engine step with learned targets: dL and dY match distillObjective on the same noise", async (t) => {
  const { fastGumbelSource } = await import("../../lib/distill/fast-sample.ts");
  const { distillObjective } = await import("../../lib/distill/objective.ts");
  const backend = await getBackend({ device: "cpu" });
  const engine = new FastDistillEngine(backend, { samplingWorkers: 0 });
  const mu = 5;
  const items = 30;
  const rows = 9;
  const rand = lcg(77);
  const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5));
  const targets = new Float64Array(mu * items).map(() => rand());
  const xb = new Float32Array(rows * items).map(() => (rand() < 0.25 ? 1 : 0));
  const common = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth: 1, loss: "softmax" as const, targets, gamma: 3, tau: 2 };
  const ref = await distillObjective(logits, mu, items, denseUserBatch(Float64Array.from(xb), rows, items), { ...common, engine: float64GramEngine, batchBlock: rows }, fastGumbelSource(4, 6, 2));
  const fast = (await engine.step(logits, mu, items, denseBatch(xb, rows, items), { ...common, seed: 4, step: 6, batchBlock: 4 }))!;
  const eL = relErr(fast.dLogits!, ref.dLogits!);
  const eY = relErr(fast.dTargets!, ref.dTargets!);
  t.diagnostic(`dL rel err ${eL.toExponential(2)}, dY rel err ${eY.toExponential(2)}`);
  assert.ok(eL <= 1e-4, `dL: ${eL}`);
  assert.ok(eY <= 1e-4, `dY: ${eY}`);
  await engine.close();
});
