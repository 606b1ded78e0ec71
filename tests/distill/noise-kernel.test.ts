/**
 * The WebAssembly noise kernel (lib/distill/noise-kernel.ts) against the
 * TypeScript noise of fast-sample.ts: E values bit-identical (tails included,
 * lengths not a multiple of four), dot to 1e-15 relative, axpy and the float32
 * conversions exact; and fastSampleRows / fastSampleBackwardRows on the kernel against
 * the TypeScript path (≤ 1e-13 relative: only the summation order of Z_k and
 * c_k differs), with and without a float32 noise store.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NoiseKernel, noiseKernelAvailable, sharedNoiseKernelAvailable, sharedNoiseMemory } from "../../lib/distill/noise-kernel.ts";
import {
  allocSampled,
  fastSampleBackwardRows,
  fastSampleRows,
  noiseKernel,
  noiseStoreBytes,
  noiseTable,
  noiseWord,
  sampleKeys,
  wordToE,
} from "../../lib/distill/fast-sample.ts";
import { lcg, relErr } from "../helpers.ts";

test("noise kernel: available on this runtime (Node ≥ 20 has WebAssembly SIMD and shared memories)", () => {
  assert.ok(noiseKernelAvailable());
  assert.ok(sharedNoiseKernelAvailable());
});

test("noise kernel: gen gives fast-sample.ts's E bit for bit, tails and partial groups included", () => {
  const k = NoiseKernel.create()!;
  for (const tau of [10, 0.5, 0.3]) {
    const table = noiseTable(tau);
    k.useTable(table);
    for (const n of [1, 3, 4, 7, 4097]) {
      const { offsets, views } = k.layout([n]);
      const [k0, k1] = sampleKeys(42, 5, n);
      const offset = 3706 * 17 + n;
      k.gen(n, offset, k0, k1, offsets[0]);
      let tails = 0;
      for (let i = 0; i < n; i++) {
        const word = noiseWord(k0, k1, offset + i);
        const j = word >>> 16;
        if (j < table.lo || j > table.hi) tails++;
        assert.equal(views[0][i], wordToE(word, table), `tau ${tau}, n ${n}, entry ${i}`);
      }
      if (n === 4097) assert.ok(tails > 0, `tau ${tau}: the exact tails were exercised`);
    }
  }
});

test("noise kernel: dot, axpy, their float32-operand forms and the float32 conversions against plain loops", () => {
  const k = NoiseKernel.create()!;
  const rand = lcg(3);
  for (const n of [1, 2, 5, 3706]) {
    const { offsets, views } = k.layout([n, n, n, n]);
    const [a, b, y] = views;
    const f32At = offsets[3];
    for (let i = 0; i < n; i++) {
      a[i] = rand() - 0.3;
      b[i] = rand() * 2;
      y[i] = rand();
    }
    let want = 0;
    for (let i = 0; i < n; i++) want += a[i] * b[i];
    const got = k.dot(offsets[0], offsets[1], n);
    assert.ok(Math.abs(got - want) <= 1e-15 * n * Math.abs(want) + 1e-300, `dot n ${n}: ${got} vs ${want}`);
    const yWant = y.map((v, i) => v + a[i] * 0.37);
    k.axpy(offsets[2], offsets[0], n, 0.37);
    assert.deepEqual(Array.from(y), Array.from(yWant), `axpy n ${n}`);
    const rounded = b.map((v) => Math.fround(v));
    k.toFloat32(offsets[1], f32At, n);
    assert.deepEqual(Array.from(b), Array.from(rounded), `toFloat32 in place, n ${n}`);
    assert.deepEqual(Array.from(k.float32View(f32At, n)), Array.from(rounded), `toFloat32 output, n ${n}`);
    const b32 = Array.from(k.float32View(f32At, n));
    let want32 = 0;
    for (let i = 0; i < n; i++) want32 += y[i] * b32[i];
    const got32 = k.dot32(offsets[2], f32At, n);
    assert.ok(Math.abs(got32 - want32) <= 1e-15 * n * Math.abs(want32) + 1e-300, `dot32 n ${n}: ${got32} vs ${want32}`);
    const y32 = y.map((v, i) => v + b32[i] * -1.25);
    k.axpy32(offsets[2], f32At, n, -1.25);
    assert.deepEqual(Array.from(y), Array.from(y32), `axpy32 n ${n}`);
    k.fromFloat32(f32At, offsets[0], n);
    assert.deepEqual(Array.from(a), Array.from(rounded), `fromFloat32, n ${n}`);
  }
});

for (const mode of ["regenerated", "store", "shared"] as const) {
  const store = mode !== "regenerated";
  test(`fast sampling on the kernel matches the TypeScript path (${mode === "regenerated" ? "regenerated noise" : mode === "store" ? "float32 noise store" : "store in a memory shared by two kernels"})`, (t) => {
    const mu = 5;
    const items = 37;
    const cfg = { gamma: 6, tau: 0.7, seed: 11, step: 4 };
    const rand = lcg(21);
    const logits = new Float64Array(mu * items).map(() => 3 * (rand() - 0.5));
    const noise = (): Float32Array | null => (store ? new Float32Array(noiseStoreBytes(mu, items, cfg.gamma) / 4) : null);
    const js = allocSampled(mu, items, cfg.gamma);
    const wasm = allocSampled(mu, items, cfg.gamma);
    const jsNoise = noise();
    let wasmNoise = noise();
    // "shared": rows [0, 3) and [3, 5) on two kernels of one shared memory that holds the store.
    let kernels: [NoiseKernel, number, number][] = [[noiseKernel()!, 0, mu]];
    if (mode === "shared") {
      const { memory, storeOffset, regionBytes } = sharedNoiseMemory(2, items, noiseStoreBytes(mu, items, cfg.gamma) / 4);
      wasmNoise = new Float32Array(memory.buffer, storeOffset, noiseStoreBytes(mu, items, cfg.gamma) / 4);
      kernels = [[NoiseKernel.attach(memory, 0, regionBytes)!, 0, 3], [NoiseKernel.attach(memory, regionBytes, regionBytes)!, 3, mu]];
      assert.ok(kernels[0][0].holds(wasmNoise));
    }
    fastSampleRows(logits, mu, items, cfg, js, 0, mu, jsNoise, null);
    for (const [k, r0, r1] of kernels) fastSampleRows(logits, mu, items, cfg, wasm, r0, r1, wasmNoise, k);
    const eS = relErr(wasm.summed, js.summed);
    const eZ = relErr(wasm.partition, js.partition);
    if (jsNoise && wasmNoise) assert.deepEqual(Array.from(wasmNoise), Array.from(jsNoise), "stored noise");
    const dSupport = new Float64Array(mu * items).map(() => rand() - 0.5);
    const dJs = new Float64Array(mu * items);
    const dWasm = new Float64Array(mu * items);
    fastSampleBackwardRows(js, mu, items, cfg, dSupport, dJs, 0, mu, jsNoise, null);
    for (const [k, r0, r1] of kernels) fastSampleBackwardRows(wasm, mu, items, cfg, dSupport, dWasm, r0, r1, wasmNoise, k);
    const eG = relErr(dWasm, dJs);
    t.diagnostic(`summed rel err ${eS.toExponential(2)}, Z ${eZ.toExponential(2)}, dL ${eG.toExponential(2)}`);
    assert.ok(eS <= 1e-13 && eZ <= 1e-13 && eG <= 1e-13, `summed ${eS}, Z ${eZ}, dL ${eG}`);
    let clipped = 0;
    for (const v of js.summed) if (v > 1) clipped++;
    assert.ok(clipped > 0, "some entries clip (hardtanh's zero-gradient branch is exercised)");
  });
}
