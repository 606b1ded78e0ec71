/** The device-resident batched solve against the float64 reference, on the CPU EP (and WASM). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DeviceSpdBatch } from "../../lib/linalg/device-cholesky.ts";
import { solveReference } from "../../lib/linalg/reference.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";
import { binaryGram } from "./fixtures.ts";

/** The shared test kernel at density 0.3; `dup` copies row 0 onto row 1 (singular without a shift). */
const gram = (n: number, d: number, seed: number, dup = false): Float32Array =>
  binaryGram(n, d, seed, { density: 0.3, duplicate: dup ? [0, 1] : undefined });

const diagonal = (k: Float32Array, n: number) => Float64Array.from({ length: n }, (_, i) => k[i * n + i]);

for (const device of ["cpu", "wasm"] as const) {
  test(`DeviceSpdBatch (${device}): every shift's α matches float64 to 1e-4, n not a multiple of b; 2⌈n/b⌉ runs (panel + trailing per block column, the solve)`, async () => {
    const be = await getBackend({ device });
    const n = 23;
    const m = 7;
    const k = gram(n, 40, 1);
    const r = lcg(2);
    const x = new Float32Array(n * m).map(() => (r() < 0.3 ? 1 : 0));
    const shifts = [0.05, 0.5, 3];
    const kDev = await be.upload({ data: k, dims: [n, n] });
    const xDev = await be.upload({ data: x, dims: [n, m] });
    const runs0 = be.stats.runs;
    const batch = await DeviceSpdBatch.factor(be, kDev, n, diagonal(k, n), shifts, { blockSize: 5 });
    const { alpha, residuals } = await batch.solve(xDev, m, { columns: [0, 3, 6] });
    assert.equal(be.stats.runs - runs0, 2 * Math.ceil(n / 5));
    assert.deepEqual(alpha.dims, [shifts.length, n, m]);
    const a = (await be.download(alpha)) as Float32Array;
    shifts.forEach((c, i) => {
      const want = solveReference(k, n, x, m, c);
      const err = relErr(a.subarray(i * n * m, (i + 1) * n * m), want);
      assert.ok(err < 1e-4, `shift ${c}: relative error ${err}`);
      assert.ok(residuals[i] < 1e-5, `shift ${c}: residual ${residuals[i]}`);
    });
    assert.deepEqual(batch.failures, [null, null, null]);
    batch.dispose();
  });
}

test("DeviceSpdBatch: a singular shift fails alone, the others stay exact", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 12;
  const m = 3;
  const k = gram(n, 30, 3, true); // rows 0 and 1 equal: K is singular
  const x = new Float32Array(n * m).map((_, i) => (i % 4 === 0 ? 1 : 0));
  const batch = await DeviceSpdBatch.factor(be, await be.upload({ data: k, dims: [n, n] }), n, diagonal(k, n), [0, 1], { blockSize: 4 });
  assert.equal(batch.failures[0]?.name, "SingularKernelError");
  assert.equal(batch.failures[1], null);
  const { alpha } = await batch.solve(await be.upload({ data: x, dims: [n, m] }), m, { columns: [0] });
  const a = (await be.download(alpha)) as Float32Array;
  assert.ok(relErr(a.subarray(n * m), solveReference(k, n, x, m, 1)) < 1e-4);
});

test("DeviceSpdBatch: bad shapes and a foreign device tensor get clear errors", async () => {
  const cpu = await getBackend({ device: "cpu" });
  const wasm = await getBackend({ device: "wasm" });
  const k = gram(6, 10, 4);
  const kCpu = await cpu.upload({ data: k, dims: [6, 6] });
  await assert.rejects(DeviceSpdBatch.factor(cpu, kCpu, 5, diagonal(k, 6).subarray(0, 5), [1]), /K is \[6, 6\], expected \[5, 5\]/);
  await assert.rejects(DeviceSpdBatch.factor(cpu, kCpu, 6, diagonal(k, 6), []), /no shifts/);
  await assert.rejects(DeviceSpdBatch.factor(wasm, kCpu, 6, diagonal(k, 6), [1]), /device tensor of backend "cpu", not of this "wasm" backend/);
  const batch = await DeviceSpdBatch.factor(cpu, kCpu, 6, diagonal(k, 6), [1], { blockSize: 4 });
  await assert.rejects(batch.solve(await cpu.upload({ data: new Float32Array(12), dims: [6, 2] }), 2, { columns: [2] }), /column 2 is outside \[0, 2\)/);
});

test("DeviceSpdBatch with blocks large enough for the worker pool (b = 64, look-ahead): α matches float64 to 1e-4", async () => {
  const be = await getBackend({ device: "cpu" });
  const n = 150;
  const m = 5;
  const k = gram(n, 200, 4);
  const r = lcg(5);
  const x = new Float32Array(n * m).map(() => (r() < 0.3 ? 1 : 0));
  const shifts = [0.1, 1, 10];
  const kDev = await be.upload({ data: k, dims: [n, n] });
  const xDev = await be.upload({ data: x, dims: [n, m] });
  const timings: Record<string, number> = {};
  const batch = await DeviceSpdBatch.factor(be, kDev, n, diagonal(k, n), shifts, { blockSize: 64, timings });
  const { alpha, residuals } = await batch.solve(xDev, m, { columns: [0, 2, 4] });
  const a = (await be.download(alpha)) as Float32Array;
  shifts.forEach((c, i) => {
    const err = relErr(a.subarray(i * n * m, (i + 1) * n * m), solveReference(k, n, x, m, c));
    assert.ok(err < 1e-4, `shift ${c}: relative error ${err}`);
    assert.ok(residuals[i] < 1e-5, `shift ${c}: residual ${residuals[i]}`);
  });
  assert.ok(timings["factor:host-wait"] >= 0, "the wait for the host's blocks is timed");
  batch.dispose();
});
