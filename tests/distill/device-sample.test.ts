/**
 * The device sampling graphs (lib/distill/device-sample.ts) on the CPU EP
 * against the float64 reference (sample.ts) run on the same noise, drawn by
 * device-noise.ts's replica; the stream's statistics. The same graphs on
 * lavapipe WebGPU: tests/webgpu/distill.webgpu.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { deviceGumbelSource, deviceNoiseWord, deviceStepKeys, deviceUniform, U_MAX, U_MIN } from "../../lib/distill/device-noise.ts";
import { DeviceSampler } from "../../lib/distill/device-sample.ts";
import { sampleSupport, sampleSupportBackward } from "../../lib/distill/sample.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { denseBatch, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { lcg, relErr } from "../helpers.ts";
import { assertGumbelStream, referenceStep, stepCase } from "./cases.ts";

test("device noise: Gumbel moments, no correlation between samples or neighbours, u inside (0, 1)", () => {
  const n = 200000;
  assertGumbelStream(deviceGumbelSource(42, 3), n);
  // Uniform buckets of u: a χ² over 64 buckets (63 degrees of freedom; 120 is far in the tail).
  const { k0, k1 } = deviceStepKeys(7, 1, 1);
  const buckets = new Float64Array(64);
  for (let i = 0; i < n; i++) {
    const u = deviceUniform(deviceNoiseWord(k0[0], k1[0], i));
    assert.ok(u >= U_MIN && u <= U_MAX, `u ${u}`);
    buckets[Math.min(63, Math.floor(u * 64))]++;
  }
  let chi2 = 0;
  for (const b of buckets) chi2 += (b - n / 64) ** 2 / (n / 64);
  assert.ok(chi2 < 120, `χ² ${chi2}`);
  assert.equal(deviceNoiseWord(k0[0], k1[0], 77), deviceNoiseWord(k0[0], k1[0], 77));
});

test("device noise: the extreme words give finite noise", () => {
  for (const w of [-(2 ** 31), -(2 ** 31) + 1, -1, 0, 1, 2 ** 31 - 1]) {
    const u = deviceUniform(w);
    assert.ok(u > 0 && u < 1, `word ${w}: u ${u}`);
    assert.ok(Number.isFinite(-Math.log(-Math.log(u))), `word ${w}`);
  }
});

for (const [tau, dup] of [[10, false], [0.5, true]] as const) {
  test(`device sampling (CPU EP) matches sample.ts on the replica's noise (tau ${tau}${dup ? ", duplicate first sample" : ""}), chunked`, async (t) => {
    const mu = 6;
    const items = 29;
    const gamma = 7;
    const rand = lcg(9);
    const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 2 : 0) + rand() - 0.5);
    const cfg = { gamma, tau, seed: 11, step: 4, duplicateFirstSample: dup };
    const backend = await getBackend({ device: "cpu" });
    // Three samples per chunk: chunks of 3, 3, 1.
    const sampler = new DeviceSampler(backend, { chunkEntries: 3 * mu * items });
    assert.equal(sampler.chunkSamples(mu, items, gamma), 3);
    const support = await sampler.forward(logits, mu, items, cfg);
    const noise = deviceGumbelSource(11, 4, dup);
    const ref = sampleSupport(logits, mu, items, { gamma, tau }, noise);
    const dS = new Float64Array(mu * items).map(() => rand() - 0.5);
    const dL = await sampler.backward(dS);
    const refDL = sampleSupportBackward(logits, mu, items, { gamma, tau }, noise, ref.summed, dS);
    const eF = relErr(support, ref.support);
    const eB = relErr(dL, refDL);
    let clipped = 0;
    for (const s of ref.summed) if (s > 1) clipped++;
    t.diagnostic(`support rel err ${eF.toExponential(2)}, dL rel err ${eB.toExponential(2)}, clipped ${clipped}`);
    // float32 graphs against float64: the support to 1e-5, dL to 1e-4 (sums of γ softmax Jacobians).
    assert.ok(eF <= 1e-5, `support: ${eF}`);
    assert.ok(eB <= 1e-4, `dL: ${eB}`);
    if (tau === 0.5) assert.ok(clipped > 0, "the low temperature must clip some entries");
    sampler.dispose();
    await assert.rejects(() => sampler.backward(dS), /backward without a forward/);
    await assert.rejects(() => sampler.forward(logits.subarray(1), mu, items, cfg), /logits have/);
  });
}

for (const [lambda, depth, store] of [[0.1, 1, true], [1e-5, 2, false]] as const) {
  test(`the device step (sampling, α, batch and dX̂ as graphs; CPU EP) matches the float64 reference (λ ${lambda}, depth ${depth}, noise ${store ? "stored" : "drawn again"})`, async (t) => {
    const backend = await getBackend({ device: "cpu" });
    const mu = 7;
    const items = 45;
    const rows = 19;
    const engine = new FastDistillEngine(backend, { sampling: "device", deviceChunkEntries: 2 * mu * items, storeNoiseBytes: store ? 2 ** 20 : 0 });
    assert.equal(engine.deviceSampler!.storesNoise(mu, items, 5), store);
    const c = stepCase(70 + depth, mu, items, rows, { lambda, depth, gamma: 5 });
    const { logits, xb, common, gamma, tau } = c;
    const ref = await referenceStep(c, deviceGumbelSource(3, 2));
    // Three blocks of users: dα and dX̂ are summed on the device.
    const dev = (await engine.step(logits, mu, items, denseBatch(xb, rows, items), { ...common, gamma, tau, seed: 3, step: 2, batchBlock: 8 }))!;
    const eLoss = Math.abs(dev.loss - ref.loss) / Math.abs(ref.loss);
    const eGrad = relErr(dev.dLogits!, ref.dLogits!);
    t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dL rel err ${eGrad.toExponential(2)}`);
    assert.equal(dev.dSupport, null, "dX̂ stays on the device");
    assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
    assert.ok(eGrad <= 1e-4, `dL: ${eGrad}`);
    // Without the gradient: the same loss, no dL.
    const lossOnly = (await engine.step(logits, mu, items, denseBatch(xb, rows, items), { ...common, gamma, tau, seed: 3, step: 2, batchBlock: 8 }, false))!;
    assert.equal(lossOnly.dLogits, null);
    assert.ok(Math.abs(lossOnly.loss - dev.loss) <= 1e-9 * Math.abs(dev.loss));
    await engine.close();
  });
}
