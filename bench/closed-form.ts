/**
 * The closed-form models' whole official protocol on one dataset (default
 * ML-1M): λ grid on validation, test at the best λ. Reports wall time per
 * phase, GFLOP/s of the Gram, factorisation, solves and products, each beside
 * one plain ORT MatMul of the Gram's size run in the same process (this
 * machine's GEMM limit), and peak RSS.
 *
 *   npx tsx bench/closed-form.ts [--dataset ml-1m] [--models inf-ae,ease] [--json]
 */
import { cac } from "cac";
import { loadDataset } from "../lib/data/registry.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import { EASE_LAMBDAS, INFINITE_AE_LAMBDAS } from "../lib/models/registry.ts";
import type { Timings } from "../lib/models/timings.ts";
import { getBackend } from "../lib/onnx/backend.ts";

const cli = cac("closed-form");
cli.option("--dataset <name>", "Dataset", { default: "ml-1m" }).option("--models <list>", "inf-ae,ease", { default: "inf-ae,ease" })
  .option("--data-dir <dir>", "Dataset folder").option("--json", "JSON output").help();
const { options } = cli.parse();
if (options.help) process.exit(0);

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const ds = await loadDataset(String(options.dataset), { dataDir: options.dataDir });
const n = ds.train.numUsers;
const m = ds.train.numItems;
const backend = await getBackend({ device: "cpu" });

/** GFLOP/s of one plain MatMul (n × m)·(m × n), the Gram's product, best of 2. */
async function matmulRate(rows: number, inner: number, cols: number): Promise<{ seconds: number; gflops: number }> {
  const a = new Float32Array(rows * inner).map((_, i) => ((i * 7919) % 13) / 13);
  const b = new Float32Array(inner * cols).map((_, i) => ((i * 104729) % 11) / 11);
  const out = new Float32Array(rows * cols);
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    await backend.matmul(a, [rows, inner], b, [inner, cols], { out });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, gflops: (2 * rows * inner * cols) / best / 1e9 };
}

interface Phase {
  phase: string;
  seconds: number;
  gflop?: number;
  gflops?: number;
  ofMatmul?: number;
}

const report: Record<string, unknown> = { dataset: ds.name, users: n, items: m, device: backend.device, threads: backend.threads };
const ref = await matmulRate(n, m, n);
report.matmul = { shape: `${n}×${m}·${m}×${n}`, ...ref };
const results: Record<string, unknown>[] = [];

function phases(t: Timings, flops: Record<string, number>, total: number): Phase[] {
  const rows: Phase[] = [];
  let accounted = 0;
  for (const [phase, seconds] of Object.entries(t)) {
    accounted += seconds;
    const f = flops[phase];
    const row: Phase = { phase, seconds };
    if (f) {
      row.gflop = f / 1e9;
      row.gflops = f / seconds / 1e9;
      row.ofMatmul = row.gflops / ref.gflops;
    }
    rows.push(row);
  }
  rows.push({ phase: "evaluation and the rest", seconds: total - accounted });
  return rows;
}

for (const model of String(options.models).split(",")) {
  const timings: Timings = {};
  const t0 = performance.now();
  let r;
  let flops: Record<string, number>;
  if (model === "inf-ae") {
    r = await tuneModel(ds, "inf-ae", { build: { backend, timings }, test: true, onSkip: () => {} });
    const solves = INFINITE_AE_LAMBDAS.length - r.skipped.length;
    flops = {
      gram: 2 * n * n * m,
      factor: (INFINITE_AE_LAMBDAS.length * n ** 3) / 3, // every λ is factored (λ = 0 may fail midway)
      solve: solves * 2 * n * n * m,
      "score-gram": 2 * n * n * m,
      "score-product": 2 * n * n * m,
    };
  } else if (model === "ease") {
    r = await tuneModel(ds, "ease", { build: { backend, timings }, test: true });
    const k = EASE_LAMBDAS.length;
    flops = { factor: (k * m ** 3) / 3, inverse: k * 2 * m ** 3, score: (k + 1) * 2 * n * m * m };
  } else throw new Error(`unknown model ${model}`);
  const total = (performance.now() - t0) / 1000;
  results.push({
    model,
    best: r.hyperParameters,
    test: r.test!.metrics,
    totalSeconds: total,
    phases: phases(timings, flops, total),
    peakRssMb: peakRssMb(),
  });
}
report.results = results;

if (options.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`${ds.name}: ${n} users × ${m} items, ORT ${backend.device}, ${backend.threads} threads`);
  console.log(`plain ORT MatMul ${n}×${m}·${m}×${n}: ${ref.seconds.toFixed(2)} s, ${ref.gflops.toFixed(1)} GFLOP/s`);
  for (const r of results) {
    console.log(`\n${r.model}: ${(r.totalSeconds as number).toFixed(1)} s end to end, best ${JSON.stringify(r.best)}, peak RSS ${(r.peakRssMb as number).toFixed(0)} MB`);
    console.log("| phase | seconds | GFLOP | GFLOP/s | × MatMul rate |\n| --- | --- | --- | --- | --- |");
    for (const p of r.phases as Phase[]) {
      console.log(`| ${p.phase} | ${p.seconds.toFixed(2)} | ${p.gflop?.toFixed(0) ?? ""} | ${p.gflops?.toFixed(1) ?? ""} | ${p.ofMatmul?.toFixed(2) ?? ""} |`);
    }
  }
}
