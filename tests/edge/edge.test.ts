import assert from "node:assert/strict";
import { test } from "node:test";
import { EdgeRecommender } from "../../lib/edge/mod.ts";
import { encodeDuals } from "../../lib/models/infinite-ae/artifact.ts";
import { DualsScorer } from "../../lib/models/infinite-ae/duals-scorer.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { Rng } from "../../lib/random.ts";
import { plantedDataset } from "../models/synthetic.ts";

test("the edge module (onnxruntime-web) gives the native path's top-10 for 20 random users", async () => {
  const ds = plantedDataset();
  const model = new InfiniteAE({ lambda: 5 });
  await model.fit(ds.train);
  const bytes = encodeDuals(await model.toArtifact({ itemIds: ds.itemIds }));
  const edge = await EdgeRecommender.fromBytes(bytes);
  const native = new DualsScorer((await import("../../lib/models/infinite-ae/artifact.ts")).decodeDuals(bytes), await getBackend({ device: "cpu" }));
  const rng = new Rng(11);
  const users = Array.from({ length: 20 }, () => {
    const u = rng.int(ds.train.numUsers);
    return [...ds.train.rowItems(u)].map((i) => ds.itemIds[i]);
  });
  const a = await edge.recommend(users, 10);
  const b = await native.recommend(users, 10);
  assert.deepEqual(a.map((r) => r.items.map((x) => x.item)), b.map((r) => r.items.map((x) => x.item)));
});
