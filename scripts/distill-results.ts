/**
 * DISTILL-CF results (the paper's Table 1 rows "DISTILL-CF + ∞-AE (μ = 500)"):
 * distil each dataset with the defaults (lib/distill/run.ts), then fit ∞-AE on
 * the summary with λ re-picked on validation HR@100 from the DISTILL-CF grid
 * {1e-5, 1e-3, 0.1, 1, 5, 50}, and report every Table-1 metric on test —
 * once with lib/models/infinite-ae/model.ts (float32 solve; refuses ill-conditioned
 * λ) and once with InfiniteAEFloat64 (float64 solve, lib/models/infinite-ae/float64.ts). With
 * --ease (default on ML-1M) EASE is fitted on
 * the same summary, λ from {1e-3, 1e-2, 0.1, 1, 10, 100, 1000}.
 *
 *   npx tsx scripts/distill-results.ts [--datasets magazine,ml-1m] [--mu 500]
 *       [--steps 500] [--seed 42] [--max-minutes M] [--summary-only] [--from-summary] [--out results/distill]
 *
 * Writes <out>/<dataset>.infrec-summary, <dataset>-log.jsonl and
 * <dataset>-results.json. --from-summary skips distillation and evaluates a
 * saved summary.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../lib/data/registry.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import { DISTILL_LAMBDA_GRID, type DistillLogEntry, runDistill } from "../lib/distill/run.ts";
import { loadSummary, saveSummary, summaryToMatrix, writeFileAtomic } from "../lib/distill/summary.ts";
import type { ModelParams } from "../lib/models/registry.ts";
import { getBackend } from "../lib/onnx/backend.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const datasets = arg("datasets", "magazine,ml-1m").split(",").filter(Boolean);
const mu = Number(arg("mu", "500"));
const steps = Number(arg("steps", "500"));
const seed = Number(arg("seed", "42"));
const out = arg("out", "results/distill");
// Wall-clock cap on each distillation: it then stops like Ctrl-C and the best summary so far is evaluated.
const maxMinutes = Number(arg("max-minutes", "0"));
mkdirSync(out, { recursive: true });
const backend = await getBackend({ device: "cpu" });
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());

for (const name of datasets) {
  const ds = await loadDataset(name);
  const summaryPath = join(out, `${name}.infrec-summary`);
  const logPath = join(out, `${name}-log.jsonl`);
  let distillInfo: Record<string, unknown> = {};
  if (!flag("from-summary")) {
    writeFileSync(logPath, "");
    const t0 = performance.now();
    const limit = new AbortController();
    const timer = maxMinutes > 0 ? setTimeout(() => limit.abort(), maxMinutes * 60_000) : null;
    controller.signal.addEventListener("abort", () => limit.abort());
    const run = await runDistill(ds, { mu, steps, seed }, {
      backend,
      signal: limit.signal,
      onLog: (e) => {
        writeFileSync(logPath, JSON.stringify(e) + "\n", { flag: "a" });
        if (e.type !== "step" || e.step % 10 === 0) {
          const brief = e.type === "step" ? `step ${e.step} loss ${e.loss.toFixed(5)} (${e.seconds.toFixed(1)} s)` : JSON.stringify(e);
          console.error(`[${name}] ${brief}`);
        }
      },
    });
    if (timer) clearTimeout(timer);
    saveSummary(summaryPath, run.summary);
    distillInfo = { seconds: (performance.now() - t0) / 1000, stepsRun: run.stepsRun, bestStep: run.bestStep, bestValidationHR100: run.bestScore, lambdaAtBest: run.lambda, stopReason: run.stopReason };
    console.error(`[${name}] distilled: ${JSON.stringify(distillInfo)}`);
    if (controller.signal.aborted) break; // Ctrl-C: stop here (the time limit goes on to evaluate)
  }
  if (flag("summary-only")) continue;
  if (flag("from-summary") && existsSync(logPath)) {
    // What the distillation log says about the run that wrote the summary.
    const entries = readFileSync(logPath, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as DistillLogEntry);
    const stop = entries.filter((e) => e.type === "stop").pop();
    const steps = entries.filter((e) => e.type === "step");
    const seconds = steps.reduce((a, e) => a + (e.type === "step" ? e.seconds : 0), 0) + entries.reduce((a, e) => a + (e.type === "validation" ? e.seconds : 0), 0);
    if (stop && stop.type === "stop") distillInfo = { fromLog: true, seconds, stepsRun: stop.step, bestStep: stop.bestStep, bestValidationHR100: stop.bestScore, stopReason: stop.reason };
  }
  const summary = loadSummary(summaryPath);
  const matrix = summaryToMatrix(summary);
  const results: Record<string, unknown> = { dataset: name, mu: summary.header.mu, gamma: summary.header.gamma, tau: summary.header.tau, seed: summary.header.seed, summaryStep: summary.header.step, distill: distillInfo };
  const report = async (label: string, model: string, grid?: ModelParams[]): Promise<void> => {
    const r = await tuneModel(ds, model, {
      grid,
      summary: true,
      train: matrix,
      build: { backend },
      metric: "HR@100",
      test: true,
      onSkip: (s) => console.error(`[${name}] ${label}: skipped λ=${JSON.stringify(s.params)}: ${s.reason}`),
    });
    results[label] = {
      lambda: r.best.params.lambda,
      validationHR100: r.best.validation.metrics["HR@100"],
      validation: Object.fromEntries(r.points.map((p) => [String(p.params.lambda), p.validation.metrics["HR@100"]])),
      test: r.test?.metrics,
    };
    console.log(`${name} ${label} (λ=${r.best.params.lambda}): ${JSON.stringify(r.test?.metrics)}`);
  };
  await report("inf-ae", "inf-ae", DISTILL_LAMBDA_GRID.map((lambda) => ({ lambda })));
  // Float64 inner solve: small λ is not refused on the ill-conditioned summary kernel.
  await report("inf-ae-f64", "inf-ae", DISTILL_LAMBDA_GRID.map((lambda) => ({ lambda, precision: "float64" })));
  if (flag("ease") || name === "ml-1m") await report("ease", "ease");
  writeFileAtomic(join(out, `${name}-results.json`), JSON.stringify(results, null, 2) + "\n");
}
