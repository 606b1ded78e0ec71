/**
 * The closed-form models' whole official protocol on one dataset (default
 * ML-1M): λ grid on validation, test at the best λ. Reports wall time per
 * phase, GFLOP/s of the Gram, factorisation, solves and products, each beside
 * one plain ORT MatMul of the Gram's size run in the same process (this
 * machine's GEMM limit), the ORT runs and bytes moved between host and device,
 * and peak RSS. `--peer` also runs the NumPy/SciPy peer of the ∞-AE protocol
 * (python3 with numpy, scipy, h5py) in the same run and reports the ratio.
 *
 *   npx tsx bench/closed-form.ts [--dataset ml-1m] [--models inf-ae,ease] [--device cpu] [--engine host|device]
 *     [--peer [--peer-script ../shared/gpu/time_protocol_numpy.py]] [--json]
 *
 * The peer runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: set on some
 * machines for old OpenBLAS builds, they force a slower kernel on a current
 * NumPy (docs/onnx-runtime.md#numpy-peer); its BLAS rate is reported beside it.
 */
import { cac } from "cac";
import { loadDataset } from "../lib/data/registry.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import { EASE_LAMBDAS, INFINITE_AE_LAMBDAS } from "../lib/models/registry.ts";
import type { Timings } from "../lib/models/timings.ts";
import { getBackend, parseDeviceRequest } from "../lib/onnx/backend.ts";
import { findDataset } from "../lib/data/registry.ts";
import { sharedBlockFactorPool } from "../lib/linalg/block-factor.ts";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const cli = cac("closed-form");
cli.option("--dataset <name>", "Dataset", { default: "ml-1m" }).option("--models <list>", "inf-ae,ease", { default: "inf-ae,ease" })
  .option("--device <device>", "ORT device", { default: "cpu" })
  .option("--engine <engine>", "host or device (device-resident, the λ grid batched)", { default: "host" })
  .option("--peer", "Also time the NumPy/SciPy peer of the ∞-AE protocol in this run")
  .option("--peer-script <file>", "The peer", { default: fileURLToPath(new URL("../../shared/gpu/time_protocol_numpy.py", import.meta.url)) })
  .option("--data-dir <dir>", "Dataset folder").option("--json", "JSON output").help();
const { options } = cli.parse();
if (options.help) process.exit(0);

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const ds = await loadDataset(String(options.dataset), { dataDir: options.dataDir });
const n = ds.train.numUsers;
const m = ds.train.numItems;
const backend = await getBackend({ device: parseDeviceRequest(options.device) });
const engine = String(options.engine);
if (engine !== "host" && engine !== "device") throw new Error(`--engine must be host or device, got '${engine}'`);

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

const report: Record<string, unknown> = { dataset: ds.name, users: n, items: m, device: backend.device, engine, threads: backend.threads };
const ref = await matmulRate(n, m, n);
report.matmul = { shape: `${n}×${m}·${m}×${n}`, ...ref };
const results: Record<string, unknown>[] = [];

function phases(t: Timings, flops: Record<string, number>, total: number): Phase[] {
  const rows: Phase[] = [];
  let accounted = 0;
  for (const [phase, seconds] of Object.entries(t)) {
    // "phase:part" is a share of its phase (e.g. factor:host-wait), not a phase of its own.
    if (!phase.includes(":")) accounted += seconds;
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
  const traffic0 = { ...backend.stats };
  const t0 = performance.now();
  let r;
  let flops: Record<string, number>;
  if (model === "inf-ae") {
    r = await tuneModel(ds, "inf-ae", { build: { backend, timings, engine }, test: true, onSkip: () => {} });
    const solves = INFINITE_AE_LAMBDAS.length - r.skipped.length;
    const k = INFINITE_AE_LAMBDAS.length;
    flops = engine === "host"
      ? {
        gram: 2 * n * n * m,
        factor: (k * n ** 3) / 3, // every λ is factored (λ = 0 may fail midway)
        solve: solves * 2 * n * n * m,
        "score-gram": 2 * n * n * m,
        "score-product": 2 * n * n * m,
      }
      : { gram: 2 * n * n * m, factor: (k * 2 * n ** 3) / 3, solve: k * 2 * n * n * m }; // batched, right-looking
  } else if (model === "ease") {
    r = await tuneModel(ds, "ease", { build: { backend, timings, engine }, test: true });
    const k = EASE_LAMBDAS.length;
    flops = engine === "host"
      ? { factor: (k * m ** 3) / 3, inverse: k * 2 * m ** 3, score: (k + 1) * 2 * n * m * m }
      : { gram: 2 * n * m * m, factor: (k * 2 * m ** 3) / 3, inverse: k * 2 * m ** 3 };
  } else throw new Error(`unknown model ${model}`);
  const total = (performance.now() - t0) / 1000;
  results.push({
    model,
    best: r.hyperParameters,
    test: r.test!.metrics,
    totalSeconds: total,
    phases: phases(timings, flops, total),
    onnx: {
      runs: backend.stats.runs - traffic0.runs,
      hostToDeviceMB: (backend.stats.hostToDeviceBytes - traffic0.hostToDeviceBytes) / 1e6,
      deviceToHostMB: (backend.stats.deviceToHostBytes - traffic0.deviceToHostBytes) / 1e6,
    },
    peakRssMb: peakRssMb(),
  });
}
report.results = results;
// Whether the device Cholesky's diagonal blocks ran on workers (block-factor.ts) or in this thread.
const pool = await sharedBlockFactorPool();
report.blockFactorWorkers = { size: pool.size, fallbackReason: pool.fallbackReason };

/** The NumPy/SciPy peer of the ∞-AE protocol, run now, on this dataset. */
function runPeer(): Record<string, unknown> {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const root = dirname(findDataset(ds.name, options.dataDir));
  const rate = spawnSync("python3", ["-c", "import numpy as np,time;a=np.ones((4096,4096),np.float32);a@a;t=time.perf_counter();a@a;print(2*4096**3/(time.perf_counter()-t)/1e9)"], { env, encoding: "utf8" });
  const r = spawnSync("python3", [String(options.peerScript), root, ds.name], { env, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`NumPy peer failed (${r.status}): ${(r.stderr ?? "").trim().split("\n").pop()}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  return { ...out, numpyMatmulGflops: Number(rate.stdout) };
}
if (options.peer) {
  const peer = runPeer();
  const infAe = results.find((x) => x.model === "inf-ae");
  report.peer = { ...peer, infrecOverPeer: infAe ? (infAe.totalSeconds as number) / (peer.protocol_s as number) : undefined };
}

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
    const t = r.onnx as { runs: number; hostToDeviceMB: number; deviceToHostMB: number };
    console.log(`ORT runs ${t.runs}, host → device ${t.hostToDeviceMB.toFixed(0)} MB, device → host ${t.deviceToHostMB.toFixed(0)} MB`);
  }
  const w = report.blockFactorWorkers as { size: number; fallbackReason: string | null };
  if (engine === "device") console.log(`\ndiagonal blocks: ${w.fallbackReason ? `in this thread (${w.fallbackReason})` : `${w.size} worker threads`}`);
  if (report.peer) {
    const p = report.peer as Record<string, number>;
    console.log(`\nNumPy peer (same run, BLAS ${p.numpyMatmulGflops.toFixed(0)} GFLOP/s): ∞-AE protocol ${p.protocol_s} s; infrec ∞-AE / peer = ${p.infrecOverPeer?.toFixed(2)}`);
  }
}
