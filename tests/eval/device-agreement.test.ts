/**
 * Every metric, per-user rows included, from the device path (ranking inside
 * the model's graph, k indices and the AUC pairs' scores back) equals the host
 * path's (full score rows, ORT or TypeScript top-k), on both tie rules.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate, type EvaluateOptions, METRIC_FAMILIES } from "../../lib/eval/evaluate.ts";
import { isRanker } from "../../lib/eval/scorer.ts";
import { EASE } from "../../lib/models/ease/model.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import type { Recommender } from "../../lib/models/model.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(150, 50, 5, 12, 9);

async function assertPathsAgree(model: Recommender): Promise<void> {
  assert.ok(isRanker(model) && model.ranksOnDevice(), `${model.name} should rank on its device`);
  for (const split of ["validation", "test"] as const) {
    for (const ties of ["index", "random"] as const) {
      const options: EvaluateOptions = { split, ties, tieSeed: 11, seed: 5, ks: [5, 20], metrics: METRIC_FAMILIES, perUser: true };
      const device = await evaluate(model, ds, options);
      const host = await evaluate(model, ds, { ...options, rankOnDevice: false, topK: "ort" });
      const hostTs = await evaluate(model, ds, { ...options, rankOnDevice: false, topK: "typescript" });
      assert.deepEqual(device, host, `${model.name} ${split} ${ties}: device vs host`);
      assert.deepEqual(hostTs, host, `${model.name} ${split} ${ties}: TypeScript vs ORT top-k`);
      assert.ok(device.metrics["Coverage@20"] > 0 && device.metrics["MAP@20"] > 0);
    }
  }
}

test("EASE device engine: new metrics and per-user rows equal the host path's", async () => {
  const backend = await getBackend({ device: "cpu" });
  const model = new EASE({ lambda: 10, backend, engine: "device" });
  await model.fit(ds.train);
  await assertPathsAgree(model);
  model.dispose();
});

test("∞-AE device engine: new metrics and per-user rows equal the host path's", async () => {
  const backend = await getBackend({ device: "cpu" });
  const model = new InfiniteAE({ lambda: 5, precision: "float32", engine: "device", backend });
  await model.fit(ds.train);
  await assertPathsAgree(model);
  model.dispose();
});
