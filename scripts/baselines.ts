/**
 * Trains, tunes (grid search on validation HR@100, early stopping on the same
 * metric) and tests the finite-width baselines of the paper's Table 1, and
 * writes results/baselines[-quick]-<dataset>.{json,md}.
 *
 *   npx tsx scripts/baselines.ts [--datasets ml-1m,magazine] [--models bias-only,mf,neumf,lightgcn,multvae]
 *     [--quick] [--config '{"dim":64}'] [--every 4] [--patience 2] [--seed 42] [--data-dir DIR] [--out DIR]
 *
 * Early stopping evaluates validation HR@100 every `--every` epochs (default:
 * earlyStoppingPlan in lib/models/grids.ts — every 4 epochs on ML-1M, only
 * the last epoch on small datasets such as Magazine).
 *
 * --config replaces the grid by the given candidates (a JSON object or array,
 * each merged over the grid's first), for tuning by hand.
 */
import { mkdirSync } from "node:fs";
import { writeFileAtomic } from "../lib/util/files.ts";
import { join } from "node:path";
import { loadPaperDataset } from "../lib/data/paper.ts";
import { gridSearch } from "../lib/eval/grid.ts";
import {
  type AnyBaselineConfig, BASELINE_NAMES, type BaselineName, baselineGrid, earlyStoppingPlan, PAPER_NDCG10,
} from "../lib/models/grids.ts";
import { type BuildContext, datasetSize, modelEntry, type ModelParams } from "../lib/models/registry.ts";
import { validationHitRate } from "../lib/tuning/tune.ts";
import { phaseLogger } from "../lib/util/terminal.ts";

interface Args {
  datasets: string[];
  models: BaselineName[];
  quick: boolean;
  config: Record<string, unknown>[] | null;
  /** Early-stopping cadence; null: earlyStoppingPlan of the dataset's size. */
  every: number | null;
  patience: number | null;
  seed: number;
  dataDir: string;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    datasets: ["ml-1m", "magazine"], models: [...BASELINE_NAMES], quick: false, config: null, every: null, patience: null,
    seed: 42, dataDir: "/work/shared/data", out: "results",
  };
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    const value = (): string => {
      const v = argv[++k];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--datasets") a.datasets = value().split(",");
    else if (flag === "--models") {
      a.models = value().split(",") as BaselineName[];
      for (const m of a.models) if (!BASELINE_NAMES.includes(m)) throw new Error(`unknown model '${m}' (have ${BASELINE_NAMES.join(", ")})`);
    } else if (flag === "--quick") a.quick = true;
    else if (flag === "--config") {
      const parsed = JSON.parse(value()) as Record<string, unknown> | Record<string, unknown>[];
      a.config = Array.isArray(parsed) ? parsed : [parsed];
    }
    else if (flag === "--every") a.every = Number(value());
    else if (flag === "--patience") a.patience = Number(value());
    else if (flag === "--seed") a.seed = Number(value());
    else if (flag === "--data-dir") a.dataDir = value();
    else if (flag === "--out") a.out = value();
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}


const fmt = (v: number | undefined, digits = 2): string => (v === undefined ? "—" : v.toFixed(digits));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  for (const name of args.datasets) {
    const ds = await loadPaperDataset(join(args.dataDir, name), { name });
    const size = datasetSize(ds);
    const plan = earlyStoppingPlan(size);
    const every = args.every ?? plan.every;
    const patience = args.patience ?? plan.patience;
    const rows: Record<string, unknown>[] = [];
    const t0 = performance.now();
    for (const model of args.models) {
      let grid = baselineGrid(model, { size, quick: args.quick }) as AnyBaselineConfig[];
      if (args.config) grid = args.config.map((c) => ({ ...grid[0], ...c }) as AnyBaselineConfig);
      const tm = performance.now();
      let fitStart = performance.now();
      const fitSeconds: number[] = [];
      const entry = modelEntry(model);
      const context: BuildContext = { validate: validationHitRate(ds), size, schedule: { every: args.quick ? Infinity : every, patience } };
      const result = await gridSearch(ds, grid as unknown as ModelParams[], (config) => {
        fitStart = performance.now();
        return entry.build(config, context);
      }, {
        metric: "HR@100", test: true, seed: args.seed,
        // Epoch, loss, validation HR@100 and ETA of each fit.
        onFitProgress: phaseLogger((line) => console.error(line), `  [${name}] `),
        onPoint: (point, i, total) => {
          fitSeconds.push((performance.now() - fitStart) / 1000);
          console.log(`[${name}] ${model} ${i + 1}/${total} ${JSON.stringify(point.params)} val HR@100 ${fmt(point.validation.metrics["HR@100"])} (${fitSeconds[i].toFixed(0)}s)`);
        },
      });
      const test = result.test!.metrics;
      const paper = PAPER_NDCG10[name]?.[model];
      const row = {
        model, hyperParameters: result.hyperParameters, validationHR100: result.best.validation.metrics["HR@100"], test,
        paperNDCG10: paper ?? null, relativeToPaper: paper ? test["NDCG@10"] / paper : null,
        seconds: (performance.now() - tm) / 1000,
        grid: result.points.map((p, i) => ({ params: p.params, validationHR100: p.validation.metrics["HR@100"], seconds: fitSeconds[i] })),
      };
      rows.push(row);
      console.log(`[${name}] ${model} test NDCG@10 ${fmt(test["NDCG@10"])} (paper ${fmt(paper)}) HR@100 ${fmt(test["HR@100"])} in ${row.seconds.toFixed(0)}s`);
    }
    const tag = args.quick ? "baselines-quick" : "baselines";
    const meta = { dataset: name, quick: args.quick, seed: args.seed, every, patience, seconds: (performance.now() - t0) / 1000 };
    writeFileAtomic(join(args.out, `${tag}-${name}.json`), JSON.stringify({ ...meta, rows }, null, 2) + "\n");
    const lines = [
      `# Baselines on ${name}${args.quick ? " (quick)" : ""}`,
      "",
      `Test split; AUC as a fraction, the rest × 100. Selection: validation HR@100. Seed ${args.seed}; ${meta.seconds.toFixed(0)} s in all.`,
      "",
      "| model | AUC | HR@10 | HR@100 | NDCG@10 | NDCG@100 | PSP@10 | paper NDCG@10 | ratio | seconds | hyper-parameters |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map((r) => {
        const t = r.test as Record<string, number>;
        return `| ${r.model} | ${fmt(t["AUC"], 4)} | ${fmt(t["HR@10"])} | ${fmt(t["HR@100"])} | ${fmt(t["NDCG@10"])} | ${fmt(t["NDCG@100"])} | ${fmt(t["PSP@10"])} | ${fmt(r.paperNDCG10 as number | undefined)} | ${fmt(r.relativeToPaper as number | undefined, 3)} | ${(r.seconds as number).toFixed(0)} | \`${JSON.stringify(r.hyperParameters)}\` |`;
      }),
      "",
    ];
    writeFileAtomic(join(args.out, `${tag}-${name}.md`), lines.join("\n"));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
