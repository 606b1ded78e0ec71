/**
 * EASE's λ grid at large catalogues: wall time per λ (fit, validation) and of
 * the test at the pick, on a dataset or on a seeded synthetic one of a given
 * shape (Last.fm-like by default: 1,892 users × 17,632 items, 92,834
 * interactions), with the Gram EASE inverts (`--side auto|items|users`; auto
 * takes the user Gram when users are fewer, lib/models/ease/user-side.ts).
 *
 *   npx tsx bench/ease-catalogue.ts [--dataset douban --data-dir ../shared/data]
 *     [--users 1892 --items 17632 --interactions 92834] [--side auto] [--lambdas 1,10,…] [--json]
 */
import { cac } from "cac";
import type { Dataset } from "../lib/data/dataset.ts";
import { loadDataset } from "../lib/data/registry.ts";
import { buildDataset } from "../lib/data/split.ts";
import { rawFromRows } from "../lib/data/text.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { EASE } from "../lib/models/ease/model.ts";
import type { EASESide } from "../lib/models/ease/user-side.ts";
import { EASE_LAMBDAS } from "../lib/models/registry.ts";
import { FitScratch } from "../lib/models/scratch.ts";
import { getBackend } from "../lib/onnx/backend.ts";
import { Rng } from "../lib/random.ts";

const cli = cac("ease-catalogue");
cli.option("--dataset <name>", "A dataset instead of synthetic data").option("--data-dir <dir>", "Dataset folder")
  .option("--users <n>", "Synthetic users", { default: 1892 }).option("--items <n>", "Synthetic items", { default: 17632 })
  .option("--interactions <n>", "Synthetic interactions", { default: 92834 }).option("--seed <n>", "Synthetic data seed", { default: 1 })
  .option("--side <side>", "auto, items or users", { default: "auto" }).option("--lambdas <list>", "λ grid", { default: EASE_LAMBDAS.join(",") })
  .option("--json", "JSON output").help();
const { options } = cli.parse();
if (options.help) process.exit(0);

/** Zipf-popular items, log-normal user activity, and 20 taste groups that prefer their own slice of the catalogue. */
function synthetic(users: number, items: number, interactions: number, seed: number): Dataset {
  const rng = new Rng(seed);
  // Box–Muller normal for log-normal activity.
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const activity = Array.from({ length: users }, () => Math.exp(normal()));
  const total = activity.reduce((a, b) => a + b, 0);
  const popularity = Array.from({ length: items }, (_, i) => 1 / (i + 1) ** 0.8);
  const cumulative = new Float64Array(items);
  popularity.reduce((acc, p, i) => (cumulative[i] = acc + p), 0);
  const pick = () => rng.weighted(cumulative);
  const groups = 20;
  const rows: { user: string; item: string }[] = [];
  for (let u = 0; u < users; u++) {
    const count = Math.max(3, Math.round((activity[u] / total) * interactions));
    const g = u % groups;
    const seen = new Set<number>();
    for (let k = 0; k < count * 4 && seen.size < Math.min(count, items); k++) {
      let item = pick();
      // Half of a user's picks move into the user's group slice (planted structure).
      if (rng.next() < 0.5) item = g + groups * Math.floor(item / groups);
      if (item < items) seen.add(item);
    }
    for (const item of seen) rows.push({ user: String(u), item: String(item) });
  }
  return buildDataset(rawFromRows(rows, "synthetic"), { name: `synthetic-${users}x${items}` });
}

const t0 = performance.now();
const ds = options.dataset
  ? await loadDataset(String(options.dataset), { dataDir: options.dataDir })
  : synthetic(Number(options.users), Number(options.items), Number(options.interactions), Number(options.seed));
const loadSeconds = (performance.now() - t0) / 1000;
const backend = await getBackend({ device: "cpu" });
const scratch = new FitScratch();
const side = String(options.side) as EASESide;
const lambdas = String(options.lambdas).split(",").map(Number);
const rows: { lambda: number; fitSeconds: number; validationSeconds: number; validationHR100: number }[] = [];
let best: { lambda: number; hr: number } | undefined;
const grid0 = performance.now();
for (const lambda of lambdas) {
  const model = new EASE({ lambda, backend, scratch, side, engine: "host" });
  const f0 = performance.now();
  await model.fit(ds.train);
  const f1 = performance.now();
  const v = await evaluate(model, ds, { split: "validation" });
  const hr = v.metrics["HR@100"];
  rows.push({ lambda, fitSeconds: (f1 - f0) / 1000, validationSeconds: (performance.now() - f1) / 1000, validationHR100: hr });
  if (!best || hr > best.hr) best = { lambda, hr };
  model.dispose();
  if (!options.json) console.error(`λ ${lambda}: fit ${((f1 - f0) / 1000).toFixed(1)} s, validation HR@100 ${hr.toFixed(2)}`);
}
const pick = new EASE({ lambda: best!.lambda, backend, scratch, side, engine: "host" });
await pick.fit(ds.train);
const test = await evaluate(pick, ds, { split: "test" });
const result = {
  dataset: ds.name, users: ds.train.numUsers, items: ds.train.numItems, trainInteractions: ds.train.nnz, side,
  loadSeconds: +loadSeconds.toFixed(2), gridSeconds: +((performance.now() - grid0) / 1000).toFixed(2),
  bestLambda: best!.lambda, test: test.metrics, perLambda: rows, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
};
if (options.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`${result.dataset}: ${result.users} users × ${result.items} items, ${result.trainInteractions} training interactions, side ${side}`);
  console.log(`λ grid (${lambdas.length}) + test at λ = ${result.bestLambda}: ${result.gridSeconds} s; test NDCG@10 ${test.metrics["NDCG@10"].toFixed(2)}; peak RSS ${result.peakRssMb} MB`);
}
