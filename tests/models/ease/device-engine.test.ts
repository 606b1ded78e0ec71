/** EASE's device engine on the CPU EP: the host engine's weights, pick and metrics; device ranking = host ranking. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../../../lib/eval/evaluate.ts";
import { EASE } from "../../../lib/models/ease/model.ts";
import { FitScratch } from "../../../lib/models/scratch.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { tuneModel } from "../../../lib/tuning/tune.ts";
import { plantedDataset } from "../synthetic.ts";
import { relErr } from "../../helpers.ts";

const ds = plantedDataset(240, 70, 5, 12, 8);

test("EASE device engine: the host engine's scores for every λ of a shared batch (1e-4)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const scratch = new FitScratch();
  const lambdas = [1, 10, 100];
  const n = ds.train.numUsers;
  const m = ds.train.numItems;
  for (const lambda of lambdas) {
    const device = new EASE({ lambda, backend, engine: "device", scratch, lambdaBatch: lambdas });
    const host = new EASE({ lambda, backend, engine: "host" });
    await device.fit(ds.train);
    await host.fit(ds.train);
    const context = ds.train.add(ds.validation);
    for (const ctx of [ds.train, context]) {
      const a = new Float32Array(n * m);
      const b = new Float32Array(n * m);
      await device.scoreBlock(ctx, 0, n, a);
      await host.scoreBlock(ctx, 0, n, b);
      assert.ok(relErr(a, b) < 1e-4, `λ ${lambda}: ${relErr(a, b)}`);
    }
    device.dispose();
  }
  scratch.clear();
});

test("EASE device engine: one batch for the grid, the host engine's pick and metrics, device ranking = host ranking", async () => {
  const backend = await getBackend({ device: "cpu" });
  const grid = [1, 10, 100, 1000].map((lambda) => ({ lambda }));
  const runs0 = backend.stats.runs;
  const device = await tuneModel(ds, "ease", { grid, build: { backend, engine: "device" }, test: true, keepBest: true });
  // item Gram, factor (top block only: 70 items < 256), solve, 4 validation rankings, 1 test ranking.
  assert.equal(backend.stats.runs - runs0, 1 + 1 + 1 + 4 + 1);
  const host = await tuneModel(ds, "ease", { grid, build: { backend, engine: "host" }, test: true });
  assert.deepEqual(device.best.params, host.best.params);
  for (const [name, v] of Object.entries(host.test!.metrics)) {
    assert.ok(Math.abs(device.test!.metrics[name] - v) < 0.01, `${name}: device ${device.test!.metrics[name]} vs host ${v}`);
  }
  const model = device.model!;
  for (const ties of ["index", "random"] as const) {
    assert.deepEqual(await evaluate(model, ds, { ties }), await evaluate(model, ds, { ties, rankOnDevice: false }));
  }
  await model.dispose?.();
});
