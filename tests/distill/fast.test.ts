/**
 * The fast DISTILL-CF step (fast-sample.ts, fast-step.ts) against the float64
 * reference (sample.ts, objective.ts with the float64 Gram engine) on the same
 * noise. Acceptance: sampling forward/backward ≤ 1e-9 relative (both float64;
 * the noise table is ≤ 1e-7 relative in E = exp(G/τ) and feeds both); the whole
 * step (float32 batch products) ≤ 1e-4 relative in loss and ‖dL‖.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleSupport, sampleSupportBackward } from "../../lib/distill/sample.ts";
import {
  allocSampled,
  fastSampleBackwardRows,
  fastSampleRows,
  noiseStoreBytes,
  fastGumbelSource,
  fastSample,
  fastSampleBackward,
  noiseTable,
  noiseWord,
  sampleKeys,
  TABLE_TOLERANCE,
  wordToE,
} from "../../lib/distill/fast-sample.ts";
import { denseBatch, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";
import { assertGumbelStream, referenceStep, stepCase } from "./cases.ts";

test("noise table: E within TABLE_TOLERANCE of (−log u)^(−1/τ) on random words", () => {
  for (const tau of [10, 0.5]) {
    const table = noiseTable(tau);
    const rand = lcg(9);
    let worst = 0;
    for (let s = 0; s < 200000; s++) {
      const h = Math.floor(rand() * 4294967296) >>> 0;
      const u = (h + 0.5) / 4294967296;
      const exact = Math.exp(-Math.log(-Math.log(u)) / tau);
      worst = Math.max(worst, Math.abs(wordToE(h, table) - exact) / exact);
    }
    assert.ok(worst <= 1.5 * TABLE_TOLERANCE, `tau ${tau}: worst relative error ${worst}`);
    assert.ok(table.exactShare < 0.1, `tau ${tau}: ${table.exactShare} of buckets exact`);
    assert.ok(table.worstError <= TABLE_TOLERANCE);
  }
});

test("noise: Gumbel moments and no correlation between samples or neighbours", () => {
  assertGumbelStream(fastGumbelSource(42, 3, 10));
  // Deterministic per (seed, step, sample, entry).
  const k = sampleKeys(42, 3, 0);
  assert.equal(noiseWord(k[0], k[1], 77), noiseWord(k[0], k[1], 77));
});

for (const tau of [10, 0.5]) {
  test(`fast sampling matches sample.ts on the same noise (tau ${tau}, incl. hardtanh clipping)`, (t) => {
    const mu = 5;
    const items = 23;
    const gamma = 7;
    const rand = lcg(5);
    const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 2 : 0) + rand() - 0.5);
    const cfg = { gamma, tau, seed: 11, step: 4 };
    const fast = fastSample(logits, mu, items, cfg);
    const noise = fastGumbelSource(11, 4, tau);
    const ref = sampleSupport(logits, mu, items, { gamma, tau }, noise);
    const eF = relErr(fast.support, ref.support);
    const dS = new Float64Array(mu * items).map(() => rand() - 0.5);
    const gF = fastSampleBackward(fast, mu, items, cfg, dS);
    const gR = sampleSupportBackward(logits, mu, items, { gamma, tau }, noise, ref.summed, dS);
    const eB = relErr(gF, gR);
    let clipped = 0;
    for (const s of ref.summed) if (s > 1) clipped++;
    t.diagnostic(`support rel err ${eF.toExponential(2)}, dL rel err ${eB.toExponential(2)}, clipped ${clipped}`);
    assert.ok(eF <= 1e-9, `support: ${eF}`);
    assert.ok(eB <= 1e-9, `dL: ${eB}`);
  });
}

test("stored noise (float32 E) gives the regenerated path's support and dL to float32 rounding", (t) => {
  const mu = 4;
  const items = 31;
  const gamma = 6;
  const rand = lcg(21);
  const logits = new Float64Array(mu * items).map(() => 2 * rand());
  const cfg = { gamma, tau: 0.5, seed: 2, step: 9 };
  const plain = allocSampled(mu, items, gamma);
  fastSampleRows(logits, mu, items, cfg, plain, 0, mu);
  const stored = allocSampled(mu, items, gamma);
  const store = new Float32Array(noiseStoreBytes(mu, items, gamma) / 4);
  fastSampleRows(logits, mu, items, cfg, stored, 0, mu, store);
  const dS = new Float64Array(mu * items).map(() => rand() - 0.5);
  const g1 = new Float64Array(mu * items);
  const g2 = new Float64Array(mu * items);
  fastSampleBackwardRows(plain, mu, items, cfg, dS, g1, 0, mu);
  fastSampleBackwardRows(stored, mu, items, cfg, dS, g2, 0, mu, store);
  const eS = relErr(stored.support, plain.support);
  const eG = relErr(g2, g1);
  t.diagnostic(`support rel err ${eS.toExponential(2)}, dL rel err ${eG.toExponential(2)}`);
  assert.ok(eS > 0 && eS <= 1e-6, `support: ${eS}`);
  assert.ok(eG <= 1e-6, `dL: ${eG}`);
});

for (const [depth, loss, innerPrecision] of [[1, "softmax", "float32"], [2, "softmax", "float64"], [2, "logistic", "float64"]] as const) {
  test(`fast step (ORT float32/float64) matches the float64 reference: loss and dL (depth ${depth}, ${loss}, ${innerPrecision} inner products)`, async (t) => {
    const backend = await getBackend({ device: "cpu" });
    // Depth 1: two workers, stored noise; depth 2: this thread, regenerated noise.
    const engine = new FastDistillEngine(backend, depth === 1 ? { samplingWorkers: 2, storeNoiseBytes: 2 ** 31, innerPrecision } : { samplingWorkers: 0, storeNoiseBytes: 0, innerPrecision });
    assert.equal(engine.sampling.storesNoise(6, 40, 4), depth === 1);
    const c = stepCase(7 + depth, 6, 40, 13, { depth, loss, emptyFirstUser: true });
    const { mu, items, logits, xb, rows, common, gamma, tau } = c;
    const ref = await referenceStep(c, fastGumbelSource(3, 2, tau));
    // Blocks of 5 users exercise the block accumulation.
    const fast = (await engine.step(logits, mu, items, denseBatch(xb, rows, items), { ...common, gamma, tau, seed: 3, step: 2, batchBlock: 5 }))!;
    const eLoss = Math.abs(fast.loss - ref.loss) / Math.abs(ref.loss);
    const eGrad = relErr(fast.dLogits!, ref.dLogits!);
    const eSupport = relErr(fast.dSupport!, ref.dSupport!);
    t.diagnostic(`loss rel err ${eLoss.toExponential(2)}, dX̂ rel err ${eSupport.toExponential(2)}, dL rel err ${eGrad.toExponential(2)}`);
    assert.ok(eLoss <= 1e-5, `loss: ${eLoss}`);
    assert.ok(eSupport <= 1e-4, `dX̂: ${eSupport}`);
    assert.ok(eGrad <= 1e-4, `dL: ${eGrad}`);
    assert.equal(engine.sampling.fallbackReason, null);
    // Two workers with a store: the store sits in a shared WebAssembly memory on Node.
    assert.equal(engine.sampling.noiseInSharedMemory, depth === 1);
    await engine.close();
  });
}
