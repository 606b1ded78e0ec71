// Run with: npx deno test -A tests/edge/edge.deno.ts (called by .ci/run).
// The edge module under Deno: onnxruntime-web (WASM) only.
import { EdgeRecommender } from "../../lib/edge/mod.ts";
import { encodeDuals } from "../../lib/models/infinite-ae/artifact.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import { plantedDataset } from "../models/synthetic.ts";

Deno.test("edge recommender runs under Deno and agrees with the fitted model's ranking", async () => {
  const ds = plantedDataset();
  const model = new InfiniteAE({ lambda: 5, device: "wasm" });
  await model.fit(ds.train);
  const edge = await EdgeRecommender.fromBytes(encodeDuals(await model.toArtifact({ itemIds: ds.itemIds })));
  // A user of cluster 0 (items 0..14) should get cluster-0 items first.
  const [rec] = await edge.recommend([["0", "1", "2", "3", "4"]], 5);
  if (rec.items.length !== 5) throw new Error(`expected 5 items, got ${rec.items.length}`);
  for (const r of rec.items) {
    if (Number(r.item) >= 15) throw new Error(`item ${r.item} is outside the user's cluster: ${JSON.stringify(rec.items)}`);
  }
});
