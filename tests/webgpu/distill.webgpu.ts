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
import { fastGumbelSource } from "../../lib/distill/fast-sample.ts";
import { deviceGumbelSource } from "../../lib/distill/device-noise.ts";
import { denseBatch, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { relErr } from "../helpers.ts";
import { referenceStep, stepCase } from "../distill/cases.ts";
import { cpuPlacedOps } from "./placement.ts";

for (const depth of [1, 2]) {
  test(`webgpu: the fast DISTILL-CF step matches the float64 reference (depth ${depth}, ${depth === 1 ? "float32" : "float64"} inner products)`, async (t) => {
    const backend = await getBackend({ device: "webgpu" });
    assert.equal(backend.device, "webgpu");
    // Depth 1: the float32 inner products (the default); depth 2: the float64 ones, with the batch blocks on the GPU.
    const engine = new FastDistillEngine(backend, { samplingWorkers: 0, innerPrecision: depth === 1 ? "float32" : "float64" });
    const c = stepCase(70 + depth, 7, 45, 19, { depth });
    const { mu, items, rows, logits, xb, common, gamma, tau } = c;
    const ref = await referenceStep(c, fastGumbelSource(3, 2, tau));
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
  const c = stepCase(91, mu, items, 17, { gamma: 5 });
  const { rows, logits, xb, common, gamma, tau } = c;
  const ref = await referenceStep(c, deviceGumbelSource(3, 2));
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
