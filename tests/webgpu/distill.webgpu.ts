/**
 * DISTILL-CF's fast step with the WebGPU backend (Mesa lavapipe in CI):
 * correctness only. The batch stage's fused graph (block-graph.ts) and the
 * float32 Gemms run on the GPU; the float64 inner solve's Gemms fall back to
 * ORT's CPU kernels (WebGPU has no float64). Loss and ∂L must match the
 * float64 reference as on the CPU backend (tests/distill/fast.test.ts).
 *
 *   eval "$(bash scripts/lavapipe.sh)"; node --import tsx --test tests/webgpu/distill.webgpu.ts
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { float64GramEngine } from "../../lib/distill/gram-engine.ts";
import { denseUserBatch, distillObjective } from "../../lib/distill/objective.ts";
import { fastGumbelSource } from "../../lib/distill/fast-sample.ts";
import { deviceGumbelSource } from "../../lib/distill/device-noise.ts";
import { denseBatch, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";
import { cpuPlacedOps } from "./placement.ts";

for (const depth of [1, 2]) {
  test(`webgpu: the fast DISTILL-CF step matches the float64 reference (depth ${depth})`, async (t) => {
    const backend = await getBackend({ device: "webgpu" });
    assert.equal(backend.device, "webgpu");
    const engine = new FastDistillEngine(backend, { samplingWorkers: 0 });
    const mu = 7;
    const items = 45;
    const rows = 19;
    const rand = lcg(70 + depth);
    const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5));
    const xb = new Float32Array(rows * items).map(() => (rand() < 0.25 ? 1 : 0));
    const common = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth, loss: "softmax" as const };
    const gamma = 4;
    const tau = 2;
    const ref = await distillObjective(
      logits,
      mu,
      items,
      denseUserBatch(Float64Array.from(xb), rows, items),
      { ...common, engine: float64GramEngine, batchBlock: rows, gamma, tau },
      fastGumbelSource(3, 2, tau),
    );
    const fast = (await engine.step(logits, mu, items, denseBatch(xb, rows, items), { ...common, gamma, tau, seed: 3, step: 2, batchBlock: 8 }))!;
    const eLoss = Math.abs(fast.loss - ref.loss) / Math.abs(ref.loss);
    const eGrad = relErr(fast.dLogits!, ref.dLogits!);
    t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dL rel err ${eGrad.toExponential(2)}`);
    assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
    assert.ok(eGrad <= 1e-4, `dL: ${eGrad}`);
    await engine.close();
  });
}

test("webgpu: the step with device sampling (noise drawn on the GPU) matches the float64 reference on the replica's noise", async (t) => {
  const backend = await getBackend({ device: "webgpu" });
  assert.equal(backend.device, "webgpu");
  // Two samples per chunk: the forward and backward loop over chunks 2, 2, 1.
  const mu = 6;
  const items = 40;
  const engine = new FastDistillEngine(backend, { sampling: "device", deviceChunkEntries: 2 * mu * items });
  assert.ok(engine.deviceSampler);
  const rows = 17;
  const rand = lcg(91);
  const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5));
  const xb = new Float32Array(rows * items).map(() => (rand() < 0.25 ? 1 : 0));
  const common = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth: 1, loss: "softmax" as const };
  const gamma = 5;
  const tau = 2;
  const ref = await distillObjective(
    logits,
    mu,
    items,
    denseUserBatch(Float64Array.from(xb), rows, items),
    { ...common, engine: float64GramEngine, batchBlock: rows, gamma, tau },
    deviceGumbelSource(3, 2),
  );
  const batch = denseBatch(xb, rows, items);
  const cfg = { ...common, gamma, tau, seed: 3, step: 2, batchBlock: 8 };
  const dev = (await engine.step(logits, mu, items, batch, cfg))!;
  const eLoss = Math.abs(dev.loss - ref.loss) / Math.abs(ref.loss);
  const eGrad = relErr(dev.dLogits!, ref.dLogits!);
  // Again: the batch's blocks are now resident on the device; same numbers.
  const again = (await engine.step(logits, mu, items, batch, cfg))!;
  t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dL rel err ${eGrad.toExponential(2)}`);
  assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
  assert.ok(eGrad <= 1e-4, `dL: ${eGrad}`);
  assert.equal(again.loss, dev.loss);
  assert.deepEqual(again.dLogits, dev.dLogits);
  await engine.close();
});

test("webgpu: ORT places every node of the sampling and batch graphs on the GPU (only the shape Cast on the CPU)", () => {
  // The float64 inner solve's Gemm graphs run on the CPU as a whole by design (WebGPU has no float64).
  const onCpu = cpuPlacedOps(new URL("./distill-placement-probe.ts", import.meta.url), false);
  // The block graph's Cast of Shape(XB) is on the CPU: seeing it shows the log was parsed.
  assert.ok(onCpu.has("Cast"), "the parse finds the block graph's shape Cast");
  assert.deepEqual([...onCpu].filter((op) => op !== "Cast"), [], `ops on the CPU: ${[...onCpu].join(", ")}`);
});
