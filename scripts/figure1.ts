/**
 * The paper's Figure 1: ∞-AE's test HR@10 and PSP@10 against the number of
 * training users (log scale) kept by each sampler, per dataset; the other
 * metrics are in the JSON and CSV. The dashed rule is ∞-AE on all users.
 *
 *   npx tsx scripts/figure1.ts [--datasets magazine,ml-1m,douban] [--samplers …]
 *                              [--budgets 25,50,…] [--quick] [--out results] [--seed 42]
 * writes results/figure1.{csv,json,svg,png} (--quick: figure1-quick.*).
 */
import { loadDataset } from "../lib/data/registry.ts";
import type { ChartRow } from "../lib/plot/chart.ts";
import { type SampledRun, samplingSweep } from "../lib/sampling/experiment.ts";
import { usersWithInteractions } from "../lib/sampling/sampler.ts";
import {
  budgetsFor, buildSamplers, type FigureContext, isEntry, main, MODEL_LABELS, modelSpec, parseFigureArgs, readFigureJson, samplerBudgets, samplerLabel, writeFigure,
} from "./figures-common.ts";

/** Rows of a metric-vs-users chart: lines for samples, reference rules for "full". */
export function metricRows(runs: SampledRun[], metrics: string[]): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const r of runs) {
    for (const metric of metrics) {
      const value = r.metrics[metric];
      if (value === undefined) continue;
      rows.push({
        dataset: r.dataset,
        metric,
        model: MODEL_LABELS[r.model] ?? r.model,
        sampler: samplerLabel(r.sampler),
        users: r.budgetUsers,
        value,
        kind: r.sampler === "full" ? "reference" : "sample",
      });
    }
  }
  return rows;
}

/** Figures 1 and 2: one model, every sampler, every dataset. */
export async function runUserSweepFigure(ctx: FigureContext, model: string, title: string): Promise<SampledRun[]> {
  const started = performance.now();
  const runs: SampledRun[] = [];
  const output = () => ({ runs, chart: null });
  if (ctx.replot) runs.push(...readFigureJson(ctx).runs);
  else for (const name of ctx.datasets) {
    ctx.log(`${ctx.name}: ${name} …`);
    const ds = await loadDataset(name, { dataDir: ctx.dataDir });
    const budgets = budgetsFor(ctx, usersWithInteractions(ds.train).length);
    await samplingSweep({
      dataset: ds,
      samplers: buildSamplers(ctx, ds),
      budgets,
      samplerBudgets: samplerBudgets(ctx),
      reuse: ctx.reuse,
      models: [modelSpec(ctx, model)],
      samplerSeed: ctx.seed,
      seed: ctx.seed,
      device: ctx.device,
      log: ctx.log,
      onRun: async (run) => {
        runs.push(run);
        await writeFigure(ctx, output(), started);
      },
    });
  }
  const sampleLabels = ctx.samplerNames.map(samplerLabel);
  await writeFigure(
    ctx,
    {
      runs,
      chart: {
        title,
        subtitle: `dashed: ${MODEL_LABELS[model] ?? model} trained on all users${ctx.quick ? " (--quick smoke run)" : ""}`,
        rows: metricRows(runs, ["HR@10", "PSP@10"]),
        x: { field: "users", title: "Training users (log scale)", log: true },
        y: { field: "value", title: "Test metric (× 100)" },
        series: { field: "sampler", title: "Sampler" },
        seriesOrder: sampleLabels,
        column: { field: "metric", title: "" },
        row: { field: "dataset", title: "" },
      },
    },
    started,
  );
  return runs;
}

if (isEntry(import.meta, "figure1.ts")) {
  await main(async () => {
    const ctx = parseFigureArgs("figure1", {
      datasets: ["magazine", "ml-1m", "douban"],
      samplers: ["interaction-random", "user-random", "head-user", "svp-cf-user", "distill-cf"],
      quickSamplers: ["interaction-random", "distill-cf"],
    });
    if (ctx) await runUserSweepFigure(ctx, "inf-ae", "Figure 1: ∞-AE trained on sampled users");
  }, "figure1");
}
