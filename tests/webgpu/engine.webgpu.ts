/**
 * The WebGPU code path on a software GPU (Mesa lavapipe): correctness only.
 * Run by .ci/run after `eval "$(bash scripts/lavapipe.sh)"`:
 *
 *   node --import tsx --test tests/webgpu/engine.webgpu.ts
 *
 * Without a WebGPU adapter these tests fail (they are not part of npm test).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceSpdBatch } from "../../lib/linalg/device-cholesky.ts";
import { solveReference } from "../../lib/linalg/reference.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { getBackend, type TensorArg } from "../../lib/onnx/backend.ts";
import { tuneModel } from "../../lib/tuning/tune.ts";
import { plantedDataset } from "../models/synthetic.ts";
import { lcg, relErr } from "../helpers.ts";
import { binaryGram } from "../linalg/fixtures.ts";
import { cpuPlacedOps } from "./placement.ts";

test("webgpu: device tensors live in GPU buffers, chain between runs and download exactly", async () => {
  const be = await getBackend({ device: "webgpu" });
  assert.equal(be.device, "webgpu");
  const r = lcg(1);
  const a = new Float32Array(64 * 48).map(() => r() - 0.5);
  const dev = await be.upload({ data: a, dims: [64, 48] });
  assert.equal(dev.location, "gpu-buffer");
  assert.deepEqual([...((await be.download(dev)) as Float32Array)], [...a]);
  const kept = await be.session("matmul_bt", { deviceOutputs: true });
  const { Y } = await be.runDevice(kept, { A: dev, B: dev });
  const cpu = await getBackend({ device: "cpu" });
  const want = await cpu.matmul(a, [64, 48], a, [64, 48], { transB: true });
  const got = (await be.download(Y as never)) as Float32Array;
  assert.ok(relErr(got, want) < 1e-5, `A·Aᵀ: ${relErr(got, want)}`);
  await assert.rejects(cpu.download(Y as never), /not from this "cpu" backend/);
  (Y as { dispose(): void }).dispose();
  dev.dispose();
});

test("webgpu: uploadSparse densifies on the GPU, exactly as the host would", async () => {
  const be = await getBackend({ device: "webgpu" });
  const r = lcg(3);
  const rows = 37;
  const cols = 53;
  const picked = new Set<number>();
  while (picked.size < 300) picked.add(Math.floor(r() * rows * cols));
  const indices = Int32Array.from(picked);
  const values = Float32Array.from(indices, () => Math.round(r() * 8) / 4);
  const before = be.stats.hostToDeviceBytes;
  const t = await be.uploadSparse({ indices, values, dims: [rows, cols] });
  assert.equal(t.location, "gpu-buffer");
  // Only the entries (and two shape inputs) crossed, not the 37 × 53 block.
  assert.ok(be.stats.hostToDeviceBytes - before < 300 * 8 + 64, `${be.stats.hostToDeviceBytes - before} bytes uploaded`);
  const want = new Float32Array(rows * cols);
  indices.forEach((ix, p) => (want[ix] = values[p]));
  assert.deepEqual([...((await be.download(t)) as Float32Array)], [...want]);
  t.dispose();
});

test("webgpu: DeviceSpdBatch matches the float64 reference for every shift", async () => {
  const be = await getBackend({ device: "webgpu" });
  const n = 37;
  const m = 5;
  const d = 60;
  const k = binaryGram(n, d, 7, { density: 0.3 });
  const r = lcg(8);
  const x = new Float32Array(n * m).map(() => (r() < 0.3 ? 1 : 0));
  const shifts = [0.1, 1];
  const diag = Float64Array.from({ length: n }, (_, i) => k[i * n + i]);
  const batch = await DeviceSpdBatch.factor(be, await be.upload({ data: k, dims: [n, n] }), n, diag, shifts, { blockSize: 16 });
  const { alpha, residuals } = await batch.solve(await be.upload({ data: x, dims: [n, m] }), m, { columns: [0, 2, 4] });
  const got = (await be.download(alpha)) as Float32Array;
  shifts.forEach((c, i) => {
    const err = relErr(got.subarray(i * n * m, (i + 1) * n * m), solveReference(k, n, x, m, c));
    assert.ok(err < 1e-4, `shift ${c}: ${err}`);
    assert.ok(residuals[i] < 1e-4, `shift ${c}: residual ${residuals[i]}`);
  });
  batch.dispose();
});

test("webgpu: ∞-AE's device engine picks the CPU path's λ and reproduces its metrics within 0.01", async () => {
  const ds = plantedDataset(260, 48, 4, 12, 3);
  const grid = [1, 5, 20].map((lambda) => ({ lambda, depth: 1, precision: "float32" }));
  const gpu = await tuneModel(ds, "inf-ae", { grid, build: { device: "webgpu" }, test: true });
  const cpu = await tuneModel(ds, "inf-ae", { grid, build: { device: "cpu", engine: "host" }, test: true });
  assert.deepEqual(gpu.best.params, cpu.best.params);
  for (const [name, v] of Object.entries(cpu.test!.metrics)) {
    const tol = name === "AUC" ? 1e-4 : 0.01;
    assert.ok(Math.abs(gpu.test!.metrics[name] - v) <= tol, `${name}: webgpu ${gpu.test!.metrics[name]} vs cpu ${v}`);
  }
});

test("webgpu: ranking in the graph equals ranking its downloaded scores on the host", async () => {
  const ds = plantedDataset(200, 40, 4, 10, 4);
  const model = new InfiniteAE({ lambda: 5, precision: "float32", device: "webgpu" });
  await model.fit(ds.train);
  for (const ties of ["index", "random"] as const) {
    const onDevice = await evaluate(model, ds, { split: "test", ties });
    const onHost = await evaluate(model, ds, { split: "test", ties, rankOnDevice: false });
    assert.deepEqual(onDevice, onHost);
  }
  const s = new Float32Array(3 * 40);
  await model.scoreBlock(ds.train, 0, 3, s);
  assert.ok(s.every(Number.isFinite));
  model.dispose();
  const be = await getBackend({ device: "webgpu" });
  const out = await be.runDevice(await be.session("probe_add"), { X: { data: new Float32Array([1, 2]), dims: [2] } });
  assert.deepEqual([...((out.Y as TensorArg).data as Float32Array)], [2, 3]);
});

test("webgpu: EASE's device engine picks the CPU path's λ and reproduces its metrics within 0.01", async () => {
  const ds = plantedDataset(220, 56, 4, 12, 6);
  const grid = [1, 10, 100].map((lambda) => ({ lambda }));
  const gpu = await tuneModel(ds, "ease", { grid, build: { device: "webgpu" }, test: true });
  const cpu = await tuneModel(ds, "ease", { grid, build: { device: "cpu", engine: "host" }, test: true });
  assert.deepEqual(gpu.best.params, cpu.best.params);
  for (const [name, v] of Object.entries(cpu.test!.metrics)) {
    const tol = name === "AUC" ? 1e-4 : 0.01;
    assert.ok(Math.abs(gpu.test!.metrics[name] - v) <= tol, `${name}: webgpu ${gpu.test!.metrics[name]} vs cpu ${v}`);
  }
});

test("webgpu: ORT places no n-sized op of the engine's graphs on the CPU (only shape-sized ones)", async () => {
  const onCpu = cpuPlacedOps(new URL("./placement-probe.ts", import.meta.url));
  // Shape arithmetic, the identity's positions, and the [rows]-sized int64 outputs of ranking.
  const small = new Set(["Cast", "Range", "Squeeze", "Unsqueeze", "Shape", "Where", "Gather"]);
  assert.deepEqual([...onCpu].filter((op) => !small.has(op)), [], `ops on the CPU: ${[...onCpu].join(", ")}`);
});
