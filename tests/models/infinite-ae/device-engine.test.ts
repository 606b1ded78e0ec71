/**
 * ∞-AE's device engine (device-engine.ts) on the CPU EP: the same duals as the
 * float64 reference, the same validation pick and metrics as the host engine,
 * the λ grid in one batch, and device ranking equal to host ranking.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../../../lib/eval/evaluate.ts";
import { ntkGramReference } from "../../../lib/ntk/ntk.ts";
import { solveReference } from "../../../lib/linalg/reference.ts";
import { ridgeShift } from "../../../lib/models/infinite-ae/duals.ts";
import { InfiniteAE } from "../../../lib/models/infinite-ae/model.ts";
import { FitScratch } from "../../../lib/models/scratch.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { tuneModel } from "../../../lib/tuning/tune.ts";
import { plantedDataset } from "../synthetic.ts";
import { relErr } from "../../helpers.ts";

const ds = plantedDataset(300, 60, 4, 12, 5);

test("device engine: α matches the float64 reference to 1e-4 for every λ of a shared batch", async () => {
  const backend = await getBackend({ device: "cpu" });
  const n = ds.train.numUsers;
  const m = ds.train.numItems;
  const x = ds.train.denseRows(0, n);
  const k = ntkGramReference(x, n, x, n, m, 1);
  const scratch = new FitScratch();
  const lambdas = [1, 5, 20];
  for (const lambda of lambdas) {
    const model = new InfiniteAE({ lambda, precision: "float32", engine: "device", backend, scratch, lambdaBatch: lambdas });
    await model.fit(ds.train);
    const { alpha } = await model.loadDuals();
    const err = relErr(alpha, solveReference(k, n, x, m, ridgeShift(k, n, lambda)));
    assert.ok(err < 1e-4, `λ ${lambda}: relative error ${err}`);
    model.dispose();
  }
  scratch.clear();
});

test("device engine: the grid's candidates share one batch (2⌈n/256⌉ + 2 runs), and its pick and metrics are the host engine's", async () => {
  const backend = await getBackend({ device: "cpu" });
  const runs0 = backend.stats.runs;
  const device = await tuneModel(ds, "inf-ae", { grid: [1, 5, 20].map((lambda) => ({ lambda, depth: 1, precision: "float32" })), build: { backend, engine: "device" }, test: true });
  // self-Gram + factor (⌈300/256⌉ = 2 blocks: top block + panel and trailing runs of 1 step) + solve, then one ranking run per evaluation (3 validations, 1 test).
  assert.equal(backend.stats.runs - runs0, 1 + 3 + 1 + 3 + 1);
  const host = await tuneModel(ds, "inf-ae", { grid: [1, 5, 20].map((lambda) => ({ lambda, depth: 1, precision: "float32" })), build: { backend, engine: "host" }, test: true });
  assert.deepEqual(device.best.params, host.best.params);
  for (const [name, v] of Object.entries(host.test!.metrics)) {
    assert.ok(Math.abs(device.test!.metrics[name] - v) < 0.01 * Math.max(1, Math.abs(v)), `${name}: device ${device.test!.metrics[name]} vs host ${v}`);
  }
});

for (const ties of ["index", "random"] as const) {
  test(`device ranking gives exactly the host ranking's metrics (ties ${ties}, validation and test)`, async () => {
    const backend = await getBackend({ device: "cpu" });
    const model = new InfiniteAE({ lambda: 5, precision: "float32", engine: "device", backend });
    await model.fit(ds.train);
    for (const split of ["validation", "test"] as const) {
      const onDevice = await evaluate(model, ds, { split, ties });
      const onHost = await evaluate(model, ds, { split, ties, rankOnDevice: false });
      assert.deepEqual(onDevice, onHost);
    }
    model.dispose();
  });
}

test("device engine: λ = 0 on duplicate users is refused like the host engine's", async () => {
  const backend = await getBackend({ device: "cpu" });
  const dup = plantedDataset(40, 30, 2, 6, 9);
  // Users 0 and 1 get identical rows: K is singular at λ = 0.
  const rows = dup.train.denseRows(0, 40);
  rows.copyWithin(30, 0, 30);
  const { InteractionMatrix } = await import("../../../lib/data/matrix.ts");
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < 40; u++) for (let i = 0; i < 30; i++) if (rows[u * 30 + i] > 0) (us.push(u), is.push(i));
  const train = InteractionMatrix.fromTriplets(40, 30, us, is);
  const model = new InfiniteAE({ lambda: 0, precision: "float32", engine: "device", backend, lambdaBatch: [0, 1] });
  await assert.rejects(model.fit(train), (e: Error) => e.name === "SingularKernelError");
  const ok = new InfiniteAE({ lambda: 1, precision: "float32", engine: "device", backend, lambdaBatch: [0, 1] });
  await ok.fit(train);
  ok.dispose();
});
