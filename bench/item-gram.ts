/**
 * The sparse item Gram XᵀX (lib/linalg/item-gram.ts) in the calling thread
 * against the same sum split over workers, alternating, on a dataset's
 * training split or on a seeded Netflix-shaped matrix (Zipf item popularity,
 * log-normal user activity; default 100,000 users × 17,770 items, about 200
 * ratings a user). Each pair of runs is checked bit for bit equal.
 *
 *   npx tsx bench/item-gram.ts [--dataset ml-1m] [--users 100000 --items 17770 --mean 200]
 *     [--workers N (default: the logical cores)] [--repeats 2] [--json]
 */
import { cac } from "cac";
import { cpus, loadavg } from "node:os";
import { InteractionMatrix } from "../lib/data/matrix.ts";
import { loadDataset } from "../lib/data/registry.ts";
import { itemGramFallbackReason, itemGramUpdates, sparseItemGram } from "../lib/linalg/item-gram.ts";
import { logicalCores } from "../lib/util/worker.ts";
import { Rng } from "../lib/random.ts";

const cli = cac("item-gram");
cli.option("--dataset <name>", "A dataset's training split instead of synthetic data").option("--data-dir <dir>", "Dataset folder")
  .option("--users <n>", "Synthetic users", { default: 100000 }).option("--items <n>", "Synthetic items", { default: 17770 })
  .option("--mean <n>", "Synthetic mean ratings per user", { default: 200 }).option("--seed <n>", "Synthetic data seed", { default: 1 })
  .option("--workers <n>", "Workers of the shared runs (default: the logical cores)").option("--repeats <n>", "Pairs of runs", { default: 2 })
  .option("--json", "JSON output").help();
const { options } = cli.parse();
if (options.help) process.exit(0);

function positiveInt(name: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** Zipf(0.8)-popular items and log-normal activity around `mean` ratings a user, as CSR. */
function netflixShaped(users: number, items: number, mean: number, seed: number): InteractionMatrix {
  const rng = new Rng(seed);
  const cumulative = new Float64Array(items);
  let acc = 0;
  for (let i = 0; i < items; i++) cumulative[i] = acc += 1 / (i + 1) ** 0.8;
  // A random item order, so popular items are not all at low indices.
  const order = rng.shuffle(Int32Array.from({ length: items }, (_, i) => i));
  const indptr = new Int32Array(users + 1);
  const rows: Int32Array[] = [];
  const seen = new Uint8Array(items);
  for (let u = 0; u < users; u++) {
    const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const count = Math.min(items, Math.max(5, Math.round(mean * Math.exp(z - 0.5))));
    const row: number[] = [];
    while (row.length < count) {
      const item = order[rng.weighted(cumulative)];
      if (!seen[item]) {
        seen[item] = 1;
        row.push(item);
      }
    }
    for (const i of row) seen[i] = 0;
    rows.push(Int32Array.from(row).sort());
    indptr[u + 1] = indptr[u] + count;
  }
  const indices = new Int32Array(indptr[users]);
  rows.forEach((r, u) => indices.set(r, indptr[u]));
  return new InteractionMatrix(users, items, indptr, indices, new Float32Array(indices.length).fill(1));
}

const x = options.dataset
  ? (await loadDataset(String(options.dataset), { dataDir: options.dataDir })).train
  : netflixShaped(positiveInt("users", options.users), positiveInt("items", options.items), positiveInt("mean", options.mean), positiveInt("seed", options.seed));
const workers = options.workers === undefined ? await logicalCores() : positiveInt("workers", options.workers);
const repeats = positiveInt("repeats", options.repeats);
const updates = itemGramUpdates(x);
const log = (s: string) => { if (!options.json) console.log(s); };
log(`${options.dataset ?? "netflix-shaped"}: ${x.numUsers} users × ${x.numItems} items, ${x.nnz} entries, ${(updates / 1e9).toFixed(2)}e9 lower-triangle updates; ${workers} workers, ${cpus().length} cores`);

const runs: { workers: number; seconds: number }[] = [];
const load = [loadavg()[0]];
for (let r = 0; r < repeats; r++) {
  let here: Float32Array | undefined;
  for (const w of [0, workers]) {
    const t = performance.now();
    const g = await sparseItemGram(x, { workers: w });
    const seconds = (performance.now() - t) / 1000;
    if (w > 0 && itemGramFallbackReason) throw new Error(`the workers did not run: ${itemGramFallbackReason}`);
    runs.push({ workers: w, seconds });
    log(`  ${w === 0 ? "here     " : `${w} workers`}: ${seconds.toFixed(2)} s`);
    if (w === 0) here = g;
    else {
      for (let i = 0; i < g.length; i++) if (g[i] !== here![i]) throw new Error(`the shared Gram differs from the single-threaded one at ${i}`);
      here = undefined;
    }
  }
}
load.push(loadavg()[0]);
const mean = (w: number) => runs.filter((r) => r.workers === w).reduce((a, r) => a + r.seconds, 0) / repeats;
const report = {
  data: options.dataset ?? "netflix-shaped", users: x.numUsers, items: x.numItems, nnz: x.nnz, updates, workers, cores: cpus().length,
  cpu: cpus()[0]?.model ?? "", loadAverage: load, runs, hereSeconds: mean(0), sharedSeconds: mean(workers), speedup: mean(0) / mean(workers),
};
if (options.json) console.log(JSON.stringify(report));
else log(`mean: here ${report.hereSeconds.toFixed(2)} s, ${workers} workers ${report.sharedSeconds.toFixed(2)} s (${report.speedup.toFixed(2)}×; equal bit for bit); load average ${load.map((v) => v.toFixed(2)).join(" → ")}`);
