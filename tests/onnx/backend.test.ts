import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackend, getBackend, type Device } from "../../lib/onnx/backend.ts";
import { graphSpec } from "../../lib/onnx/builder.ts";
import { maxRelError, matmulReference, rng } from "./helpers.ts";

function randomMatrix(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

// This test machine has no GPU: `auto` must land on the CPU and say why.
test("device auto falls back to cpu with a one-line message", async () => {
  const lines: string[] = [];
  const be = await createBackend({ device: "auto", log: (l) => lines.push(l) });
  assert.equal(be.device, "cpu");
  assert.equal(lines.length, 1);
  assert.equal(lines[0], be.message);
  assert.match(be.message, /device auto → cpu/);
  assert.match(be.message, /cuda: /);
  assert.ok(!be.message.includes("\n"));
  await be.release();
});

test("device cuda without CUDA libraries throws a clear error", async () => {
  await assert.rejects(() => createBackend({ device: "cuda" }), /device "cuda" is not available: .*libonnxruntime_providers_cuda\.so/);
});

test("bad options are rejected", async () => {
  await assert.rejects(() => createBackend({ device: "tpu" as Device }), /unknown device "tpu"/);
  await assert.rejects(() => createBackend({ threads: 0 }), /threads must be a positive integer/);
});

test("threads option and getBackend caching", async () => {
  const be = await createBackend({ device: "cpu", threads: 1 });
  assert.equal(be.threads, 1);
  assert.match(be.message, /1 thread\)/);
  await be.release();
  assert.equal(await getBackend({ device: "cpu" }), await getBackend({ device: "cpu" }));
});

for (const device of ["cpu", "wasm"] as Device[]) {
  test(`matmul, matmul with transB and gemmUpdate on ${device} vs float64 reference`, async () => {
    const be = await getBackend({ device });
    assert.equal(be.device, device);
    const [m, k, n] = [13, 29, 7];
    const a = randomMatrix(m * k, 1);
    const b = randomMatrix(k * n, 2);
    const bt = randomMatrix(n * k, 3);
    // Float32 products of k = 29 terms of size ≤ 1: relative error ~1e-6 except
    // near cancellations, so compare against the scale of the terms instead.
    const scaledError = (got: Float32Array, want: Float64Array): number => {
      let e = 0;
      for (let i = 0; i < got.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / k);
      return e;
    };
    const c1 = await be.matmul(a, [m, k], b, [k, n]);
    assert.ok(scaledError(c1, matmulReference(a, b, m, k, n)) < 1e-7);
    const c2 = await be.matmul(a, [m, k], bt, [n, k], { transB: true });
    const ref2 = matmulReference(a, bt, m, k, n, true);
    assert.ok(scaledError(c2, ref2) < 1e-7);
    // Pre-allocated output as a view into a larger buffer: written in place, neighbours untouched.
    const buf = new Float32Array(m * n + 2).fill(9);
    const view = buf.subarray(1, 1 + m * n);
    assert.equal(await be.matmul(a, [m, k], bt, [n, k], { transB: true, out: view }), view);
    assert.deepEqual(view, c2);
    assert.equal(buf[0], 9);
    assert.equal(buf[m * n + 1], 9);
    // Inputs as subarray views (zero copy on the native side).
    const big = new Float32Array(5 + m * k);
    big.set(a, 5);
    assert.deepEqual(await be.matmul(big.subarray(5), [m, k], b, [k, n]), c1);
    // C − A·Bᵀ, into a fresh output and in place over C.
    const c = randomMatrix(m * n, 4);
    const want = Float64Array.from(c, (v, i) => v - ref2[i]);
    const u = await be.gemmUpdate(c, [m, n], a, [m, k], bt, [n, k]);
    assert.ok(scaledError(u, want) < 1e-7);
    const cInPlace = c.slice();
    await be.gemmUpdate(cInPlace, [m, n], a, [m, k], bt, [n, k], { out: cInPlace });
    assert.deepEqual(cInPlace, u);
    assert.ok(maxRelError(u, want) < 1e-3); // sanity: the same values, not just small ones
  });
}

test("matmul edge cases and shape errors", async () => {
  const be = await getBackend({ device: "cpu" });
  const a = new Float32Array(6);
  await assert.rejects(() => be.matmul(a, [2, 3], a, [2, 3]), /matmul: A is 2×3 but B is 2×3/);
  await assert.rejects(() => be.matmul(a, [2, 3], a, [3, 2], { out: new Float32Array(3) }), /out has 3 values, need 2×2/);
  await assert.rejects(() => be.gemmUpdate(a, [2, 3], a, [2, 3], a, [2, 3]), /gemmUpdate: shapes/);
  assert.deepEqual(await be.matmul(new Float32Array(0), [2, 0], new Float32Array(0), [0, 2]), new Float32Array(4));
  const s = await be.session("matmul");
  await assert.rejects(() => be.run(s, { A: { data: a, dims: [2, 3] } }), /missing input B/);
  await assert.rejects(() => be.run(s, { A: { data: a, dims: [2, 2] }, B: { data: a, dims: [3, 2] } }), /6 values for dims \[2, 2\]/);
  await assert.rejects(() => be.session("no_such_graph" as "matmul"), /unknown ONNX graph "no_such_graph"/);
  await assert.rejects(() => be.session(graphSpec("matmul", () => new Uint8Array(4))), /name of a registered graph/);
});

for (const device of ["cpu", "wasm"] as const) {
  test(`device tensors (${device}): upload, runDevice keeps chosen outputs on the device, download, transfer accounting`, async () => {
    const be = await getBackend({ device });
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const before = { ...be.stats };
    const dev = await be.upload({ data: a, dims: [2, 3] });
    assert.deepEqual(dev.dims, [2, 3]);
    assert.equal(dev.type, "float32");
    assert.equal(dev.bytes, 24);
    assert.equal(be.stats.hostToDeviceBytes - before.hostToDeviceBytes, 24);
    const kept = await be.session("matmul_bt", { deviceOutputs: true });
    assert.deepEqual(kept.deviceOutputs, ["Y"]);
    const { Y } = await be.runDevice(kept, { A: dev, B: dev });
    assert.ok(!("data" in Y), "a kept output is a device tensor, not host data");
    // A·Aᵀ stays on the device and feeds the next run, whose output comes back.
    const host = await be.session("matmul");
    const out = await be.runDevice(host, { A: Y, B: { data: new Float32Array([1, 0, 0, 1]), dims: [2, 2] } });
    assert.deepEqual([...(out.Y as { data: Float32Array }).data], [14, 32, 32, 77]);
    assert.deepEqual([...((await be.download(Y as never)) as Float32Array)], [14, 32, 32, 77]);
    assert.equal(be.stats.runs - before.runs, 2);
    // uploads: A once; host inputs of the second run: 16 bytes. Downloads: 16 (run) + 16 (download).
    assert.equal(be.stats.hostToDeviceBytes - before.hostToDeviceBytes, 24 + 16);
    assert.equal(be.stats.deviceToHostBytes - before.deviceToHostBytes, 32);
    await assert.rejects(be.run(kept, { A: { data: a, dims: [2, 3] }, B: { data: a, dims: [2, 3] } }), /keeps outputs on the device; use runDevice/);
    await assert.rejects(be.session("matmul", { deviceOutputs: ["Z"] }), /no output Z to keep on the device/);
    (Y as { dispose(): void }).dispose();
    await assert.rejects(be.download(Y as never), /was disposed/);
  });
}

for (const device of ["cpu", "wasm"] as const) {
  test(`uploadSparse (${device}): the dense block of the entries on the device; bad entries named`, async () => {
    const be = await getBackend({ device });
    const block = { indices: new Int32Array([5, 0, 11]), values: new Float32Array([2, 1, 3]), dims: [3, 4] as const };
    const t = await be.uploadSparse(block);
    assert.deepEqual(t.dims, [3, 4]);
    assert.deepEqual([...((await be.download(t)) as Float32Array)], [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3]);
    // The scatter graph WebGPU densifies with, run here on the host: the same block.
    const s = await be.session("scatter_rows");
    const { Y } = await be.run(s, {
      IDX: { data: block.indices, dims: [3] }, VAL: { data: block.values, dims: [3] },
      SIZE: { data: BigInt64Array.of(12n), dims: [1] }, SHAPE: { data: BigInt64Array.of(3n, 4n), dims: [2] },
    });
    assert.deepEqual(Y.dims, [3, 4]);
    assert.deepEqual([...(Y.data as Float32Array)], [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3]);
    await assert.rejects(be.uploadSparse({ ...block, indices: new Int32Array([5, 0, 12]) }), /index 12 outside the 3 × 4 block/);
    await assert.rejects(be.uploadSparse({ ...block, values: new Float32Array(2) }), /3 indices but 2 values/);
    await assert.rejects(be.uploadSparse({ ...block, dims: [-1, 4] }), /bad dims \[-1, 4\]/);
  });
}

test("a device tensor of one backend is refused by another, naming both", async () => {
  const cpu = await getBackend({ device: "cpu" });
  const wasm = await getBackend({ device: "wasm" });
  const t = await cpu.upload({ data: new Float32Array(4), dims: [2, 2] });
  const s = await wasm.session("matmul");
  await assert.rejects(wasm.runDevice(s, { A: t, B: t }), /input A is a device tensor of backend "cpu", not of this "wasm" backend/);
  await assert.rejects(wasm.download(t), /not from this "wasm" backend/);
});
