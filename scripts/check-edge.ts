/**
 * Checks that the edge module (onnxruntime-web, WASM) recommends the same
 * top-k as the native path (onnxruntime-node) from one saved artifact, for
 * random real users of a dataset.
 *
 *   npx tsx scripts/check-edge.ts --model model.infrec --dataset ml-1m [--users 20] [-k 10] [--seed 1]
 */
import { cac } from "cac";
import { readFileSync } from "node:fs";
import { loadDataset } from "../lib/data/registry.ts";
import { EdgeRecommender } from "../lib/edge/mod.ts";
import { decodeDuals } from "../lib/models/infinite-ae/artifact.ts";
import { DualsScorer } from "../lib/models/infinite-ae/duals-scorer.ts";
import { getBackend } from "../lib/onnx/backend.ts";
import { Rng } from "../lib/random.ts";

const cli = cac("check-edge");
cli.option("--model <file>", "Artifact").option("--dataset <name>", "Dataset whose users to try", { default: "magazine" })
  .option("--users <n>", "Random users", { default: 20 }).option("-k <k>", "Top-k", { default: 10 })
  .option("--seed <n>", "Seed", { default: 1 }).option("--data-dir <dir>", "Dataset folder").help();
const { options } = cli.parse();
if (!options.help) {
  const bytes = new Uint8Array(readFileSync(String(options.model)));
  const ds = await loadDataset(String(options.dataset), { dataDir: options.dataDir });
  const rng = new Rng(Number(options.seed));
  const users = Array.from({ length: Number(options.users) }, () => {
    const u = rng.int(ds.train.numUsers);
    return [...ds.train.rowItems(u)].map((i) => ds.itemIds[i]);
  });
  const k = Number(options.k);
  const t0 = performance.now();
  const edge = await (await EdgeRecommender.fromBytes(bytes)).recommend(users, k);
  const t1 = performance.now();
  const native = await new DualsScorer(decodeDuals(bytes), await getBackend({ device: "cpu" })).recommend(users, k);
  const t2 = performance.now();
  let same = 0;
  users.forEach((_, r) => {
    const a = edge[r].items.map((x) => x.item).join(",");
    const b = native[r].items.map((x) => x.item).join(",");
    if (a === b) same++;
    else console.log(`user ${r}: edge ${a}\n         native ${b}`);
  });
  console.log(`${same}/${users.length} users have identical top-${k} (edge ${((t1 - t0) / 1000).toFixed(2)} s, native ${((t2 - t1) / 1000).toFixed(2)} s)`);
  if (same !== users.length) process.exitCode = 1;
}
