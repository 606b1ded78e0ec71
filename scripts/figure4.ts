/**
 * The paper's Figure 4: ∞-AE and EASE trained on DISTILL-CF summaries vs
 * user-RNS samples of noisy data (ML-1M), test HR@10 against the number of
 * training users (log scale), one panel per noise level. "Full data" is each
 * model on all (noisy) users. Noise as in figure3.ts (training rows only; the
 * noisy rows are the evaluation context; clean test items).
 *
 *   npx tsx scripts/figure4.ts [--datasets ml-1m] [--noise 0,1,2,5] [--samplers user-random,distill-cf] [--budgets …] [--quick]
 * writes results/figure4.{csv,json,svg,png} (--quick: figure4-quick.*).
 */
import { loadDataset } from "../lib/data/registry.ts";
import type { ChartRow } from "../lib/plot/chart.ts";
import { type SampledRun, samplingSweep } from "../lib/sampling/experiment.ts";
import { noisyDataset } from "../lib/sampling/noise.ts";
import { usersWithInteractions } from "../lib/sampling/sampler.ts";
import {
  budgetsFor, buildSamplers, type FigureContext, isEntry, main, MODEL_LABELS, modelSpec, parseFigureArgs, readFigureJson, samplerBudgets, samplerLabel, writeFigure,
} from "./figures-common.ts";

export async function runFigure4(ctx: FigureContext): Promise<SampledRun[]> {
  const started = performance.now();
  const runs: SampledRun[] = [];
  const models = [modelSpec(ctx, "inf-ae"), modelSpec(ctx, "ease")];
  if (ctx.replot) runs.push(...readFigureJson(ctx).runs);
  else for (const name of ctx.datasets) {
    const clean = await loadDataset(name, { dataDir: ctx.dataDir });
    const budgets = budgetsFor(ctx, usersWithInteractions(clean.train).length);
    for (const level of ctx.noise) {
      ctx.log(`figure4: ${name} with ${level}% noise …`);
      const ds = noisyDataset(clean, level, ctx.seed);
      await samplingSweep({
        dataset: ds,
        datasetLabel: name,
        noise: level,
        samplers: buildSamplers(ctx, ds),
        budgets,
        samplerBudgets: samplerBudgets(ctx),
        reuse: ctx.reuse,
        models,
        samplerSeed: ctx.seed,
        seed: ctx.seed,
        device: ctx.device,
        log: ctx.log,
        onRun: async (run) => {
          runs.push(run);
          await writeFigure(ctx, { runs, chart: null }, started);
        },
      });
    }
  }
  // "Full data" is one point at all users per model: its own legend entry per model.
  const fullLabel = (model: string) => `${samplerLabel("full")} (${MODEL_LABELS[model] ?? model})`;
  const rows: ChartRow[] = runs.map((r) => ({
    dataset: r.dataset,
    noise: `${r.noise}% noise`,
    sampler: r.sampler === "full" ? fullLabel(r.model) : samplerLabel(r.sampler),
    model: MODEL_LABELS[r.model] ?? r.model,
    users: r.budgetUsers,
    value: r.metrics["HR@10"],
  }));
  await writeFigure(
    ctx,
    {
      runs,
      chart: {
        title: `Figure 4: ∞-AE and EASE on samples of noisy data (${ctx.datasets.join(", ")})`,
        ...(ctx.quick ? { subtitle: "--quick smoke run" } : {}),
        rows,
        x: { field: "users", title: "Training users (log scale)", log: true },
        y: { field: "value", title: "Test HR@10" },
        series: { field: "sampler", title: "Sampler" },
        seriesOrder: [...ctx.samplerNames.map(samplerLabel), ...models.map((m) => fullLabel(m.name))],
        dash: { field: "model", title: "Model" },
        column: { field: "noise", title: "" },
        ...(ctx.datasets.length > 1 ? { row: { field: "dataset", title: "" } } : {}),
      },
    },
    started,
  );
  return runs;
}

if (isEntry(import.meta, "figure4.ts")) {
  await main(async () => {
    const ctx = parseFigureArgs("figure4", {
      datasets: ["ml-1m"],
      samplers: ["user-random", "distill-cf"],
      noise: [0, 1, 2, 5],
      quickSamplers: ["user-random", "distill-cf"],
      quickNoise: [2],
    });
    if (ctx) await runFigure4(ctx);
  }, "figure4");
}
