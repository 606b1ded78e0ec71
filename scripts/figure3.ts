/**
 * The paper's Figure 3: the drop in EASE's test HR@10, in percent of EASE's
 * HR@10 on the clean full data, when the training data carry x% noise
 * (lib/sampling/noise.ts) and are then down-sampled by each sampler; one panel
 * per noise level, users on a log scale. Dashed: EASE on all (noisy) users.
 *
 * Noise is injected into the training rows only (seeded by --seed); the
 * models see the noisy rows as the users' context at evaluation too (the
 * logged data are what is noisy) and are scored on the clean test items.
 *
 *   npx tsx scripts/figure3.ts [--datasets ml-1m] [--noise 0,1,2,5] [--samplers …] [--budgets …] [--quick]
 * writes results/figure3.{csv,json,svg,png} (--quick: figure3-quick.*).
 */
import { loadDataset } from "../lib/data/registry.ts";
import type { ChartRow } from "../lib/plot/chart.ts";
import { fitOnSample, type SampledRun, samplingSweep } from "../lib/sampling/experiment.ts";
import { noisyDataset } from "../lib/sampling/noise.ts";
import { usersWithInteractions } from "../lib/sampling/sampler.ts";
import {
  budgetsFor, buildSamplers, type FigureContext, isEntry, main, modelSpec, parseFigureArgs, readFigureJson, samplerBudgets, samplerLabel, writeFigure,
} from "./figures-common.ts";

/** 100 · (reference − value) / reference. */
export function percentDrop(reference: number, value: number): number {
  if (!(reference > 0)) throw new Error(`percentDrop: reference ${reference} must be > 0`);
  return (100 * (reference - value)) / reference;
}

export async function runFigure3(ctx: FigureContext): Promise<SampledRun[]> {
  const started = performance.now();
  const runs: SampledRun[] = [];
  const cleanHr10 = new Map<string, number>();
  const drop = (r: SampledRun) => percentDrop(cleanHr10.get(r.dataset) as number, r.metrics["HR@10"]);
  const extraColumns = (r: SampledRun): Record<string, number | string> => ({ hr10_drop_pct: cleanHr10.has(r.dataset) ? drop(r) : "" });
  const notes = () => ({ cleanFullHr10: Object.fromEntries(cleanHr10), metric: "HR@10 drop relative to EASE on the clean full data" });
  const ease = modelSpec(ctx, "ease");
  if (ctx.replot) {
    const earlier = readFigureJson(ctx);
    runs.push(...earlier.runs);
    const saved = (earlier.notes.cleanFullHr10 ?? {}) as Record<string, number>;
    for (const name of ctx.datasets) if (typeof saved[name] === "number") cleanHr10.set(name, saved[name]);
  } else for (const name of ctx.datasets) {
    const clean = await loadDataset(name, { dataDir: ctx.dataDir });
    if (!ctx.noise.includes(0)) {
      ctx.log(`figure3: ${name} clean reference …`);
      cleanHr10.set(name, (await fitOnSample(clean, clean.train, ease, { seed: ctx.seed, device: ctx.device })).metrics["HR@10"]);
    }
    const budgets = budgetsFor(ctx, usersWithInteractions(clean.train).length);
    for (const level of ctx.noise) {
      ctx.log(`figure3: ${name} with ${level}% noise …`);
      const ds = noisyDataset(clean, level, ctx.seed);
      await samplingSweep({
        dataset: ds,
        datasetLabel: name,
        noise: level,
        samplers: buildSamplers(ctx, ds),
        budgets,
        samplerBudgets: samplerBudgets(ctx),
        reuse: ctx.reuse,
        models: [ease],
        samplerSeed: ctx.seed,
        seed: ctx.seed,
        device: ctx.device,
        log: ctx.log,
        onRun: async (run) => {
          runs.push(run);
          if (level === 0 && run.sampler === "full") cleanHr10.set(name, run.metrics["HR@10"]);
          await writeFigure(ctx, { runs, chart: null, extraColumns, notes: notes() }, started);
        },
      });
    }
  }
  const rows: ChartRow[] = runs.map((r) => ({
    dataset: r.dataset,
    noise: `${r.noise}% noise`,
    sampler: samplerLabel(r.sampler),
    users: r.budgetUsers,
    drop: drop(r),
    kind: r.sampler === "full" ? "reference" : "sample",
  }));
  await writeFigure(
    ctx,
    {
      runs,
      extraColumns,
      notes: notes(),
      chart: {
        title: `Figure 3: drop in EASE's HR@10 vs the clean full data (${ctx.datasets.join(", ")})`,
        subtitle: `dashed: EASE on all noisy users${ctx.quick ? " (--quick smoke run)" : ""}`,
        rows,
        x: { field: "users", title: "Training users (log scale)", log: true },
        y: { field: "drop", title: "% drop in HR@10" },
        series: { field: "sampler", title: "Sampler" },
        seriesOrder: ctx.samplerNames.map(samplerLabel),
        column: { field: "noise", title: "" },
        ...(ctx.datasets.length > 1 ? { row: { field: "dataset", title: "" } } : {}),
      },
    },
    started,
  );
  return runs;
}

if (isEntry(import.meta, "figure3.ts")) {
  await main(async () => {
    const ctx = parseFigureArgs("figure3", {
      datasets: ["ml-1m"],
      samplers: ["interaction-random", "user-random", "head-user", "svp-cf-user", "distill-cf"],
      noise: [0, 1, 2, 5],
      quickSamplers: ["head-user", "distill-cf"],
      quickNoise: [2],
    });
    if (ctx) await runFigure3(ctx);
  }, "figure3");
}
