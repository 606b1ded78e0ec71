/**
 * Reproduces the paper's Table 1: every model on every dataset under the
 * official protocol (hyper-parameters picked on validation HR@100, test
 * metrics at the pick), written as Markdown, CSV and JSON beside the paper's
 * numbers.
 *
 *   npx tsx scripts/table1.ts [--datasets magazine,ml-1m,douban] [--models pop,ease,inf-ae]
 *                            [--quick] [--out results] [--data-dir DIR] [--device cpu] [--json]
 *                            [--ties index|random] [--summaries DIR]
 *
 * The "distill-inf-ae" column distils μ = 500 users with the DISTILL-CF
 * defaults (lib/distill/run.ts; --quick: a 26-step smoke run) and fits ∞-AE
 * on the summary with λ from the summary grid. With --summaries DIR it reads
 * DIR/<dataset>.infrec-summary instead when that file exists (e.g. one
 * written by `infrec distill`), and writes the summaries it distils there.
 *   deno run -A scripts/table1.ts …      bun scripts/table1.ts …
 */
import { cac } from "cac";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Dataset } from "../lib/data/dataset.ts";
import { loadDataset } from "../lib/data/registry.ts";
import { PAPER_TABLE1, TABLE1_METRICS, TABLE1_MODELS } from "../lib/eval/paper-results.ts";
import { phaseLogger, Progress } from "../lib/util/terminal.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { type HyperParameters } from "../lib/models/model.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import type { DeviceRequest } from "../lib/onnx/backend.ts";
import type { TieRule } from "../lib/eval/evaluate.ts";
import { QUICK_DISTILL_OPTIONS, runDistill, type RunDistillOptions } from "../lib/distill/run.ts";
import { loadSummary, saveSummary, summaryToMatrix, type Summary } from "../lib/distill/summary.ts";

export interface Cell {
  dataset: string;
  model: string;
  metrics: Record<string, number>;
  hyperParameters: HyperParameters;
  seconds: number;
  note?: string;
}

export interface ColumnContext {
  device: DeviceRequest;
  quick: boolean;
  ties: TieRule;
  /** Folder of saved DISTILL-CF summaries (<dataset>.infrec-summary), read and written. */
  summaries?: string;
  log: (line: string) => void;
}

/** A Table 1 column: how to produce one dataset's test metrics. */
export type Column = (ds: Dataset, ctx: ColumnContext) => Promise<Omit<Cell, "dataset" | "model" | "seconds">>;

/** A column that grid-searches a registered model on validation HR@100. */
export function registryColumn(name: string): Column {
  return async (ds, ctx) => {
    const r = await tuneModel(ds, name, {
      quick: ctx.quick,
      build: { device: ctx.device },
      onFitProgress: phaseLogger(ctx.log, "  "),
      test: true,
      ties: ctx.ties,
      onPoint: (p, i, n) => ctx.log(`  ${name} ${JSON.stringify(p.params)} validation HR@100 ${p.validation.metrics["HR@100"].toFixed(2)} (${i + 1}/${n})`),
      onSkip: (s) => ctx.log(`  ${name} ${JSON.stringify(s.params)} skipped: ${s.reason}`),
    });
    return { metrics: r.test!.metrics, hyperParameters: r.hyperParameters };
  };
}

/** DISTILL-CF + ∞-AE (μ = 500): distil (or read a saved summary), then fit ∞-AE on it. */
export const distillColumn: Column = async (ds, ctx) => {
  const saved = ctx.summaries ? join(ctx.summaries, `${ds.name}.infrec-summary`) : null;
  let summary: Summary;
  let note: string;
  if (saved && existsSync(saved)) {
    summary = loadSummary(saved);
    if (summary.header.itemIds.length !== ds.itemIds.length) throw new Error(`${saved}: summary has ${summary.header.itemIds.length} items, dataset '${ds.name}' has ${ds.itemIds.length}`);
    note = `summary read from ${saved}`;
  } else {
    const started = Date.now();
    const options: Partial<RunDistillOptions> = { mu: Math.min(500, ds.train.numUsers), device: ctx.device, ...(ctx.quick ? QUICK_DISTILL_OPTIONS : {}) };
    const run = await runDistill(ds, options, {
      onLog: (e) => {
        if (e.type === "validation") ctx.log(`  distill step ${e.step}: validation HR@100 ${e.score.toFixed(2)} λ=${e.lambda}${e.best ? " (best)" : ""}`);
        else if (e.type === "step" && e.step % 25 === 0) ctx.log(`  distill step ${e.step}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s/step)`);
      },
    });
    summary = run.summary;
    note = `distilled in ${((Date.now() - started) / 1000).toFixed(0)} s, best of ${run.stepsRun} steps at step ${run.bestStep}`;
    if (saved) {
      mkdirSync(ctx.summaries!, { recursive: true });
      saveSummary(saved, summary);
    }
  }
  const r = await tuneModel(ds, "inf-ae", {
    summary: true,
    build: { device: ctx.device },
    train: summaryToMatrix(summary),
    test: true,
    ties: ctx.ties,
    onSkip: (s) => ctx.log(`  distill-inf-ae ${JSON.stringify(s.params)} skipped: ${s.reason}`),
  });
  return { metrics: r.test!.metrics, hyperParameters: { mu: summary.header.mu, ...r.hyperParameters }, note };
};

/** Columns by Table 1 key. */
export const COLUMNS: Record<string, Column> = {
  ...Object.fromEntries(["pop", "bias-only", "mf", "neumf", "lightgcn", "ease", "multvae", "inf-ae"].map((m) => [m, registryColumn(m)])),
  "distill-inf-ae": distillColumn,
};

const fmt = (metric: string, v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : metric === "AUC" ? v.toFixed(4) : v.toFixed(2);

export function toMarkdown(cells: Cell[]): string {
  const out: string[] = ["# Table 1: ours (paper)", ""];
  const datasets = [...new Set(cells.map((c) => c.dataset))];
  for (const d of datasets) {
    const models = Object.keys(TABLE1_MODELS).filter((m) => cells.some((c) => c.dataset === d && c.model === m));
    out.push(`## ${d}`, "", `| metric | ${models.map((m) => TABLE1_MODELS[m]).join(" | ")} |`, `| --- |${models.map(() => " --- |").join("")}`);
    for (const metric of TABLE1_METRICS) {
      const row = models.map((m) => {
        const c = cells.find((x) => x.dataset === d && x.model === m)!;
        return `${fmt(metric, c.metrics[metric])} (${fmt(metric, PAPER_TABLE1[d]?.[m]?.[metric])})`;
      });
      out.push(`| ${metric} | ${row.join(" | ")} |`);
    }
    out.push("", "Hyper-parameters (picked on validation HR@100) and time:", "");
    for (const m of models) {
      const c = cells.find((x) => x.dataset === d && x.model === m)!;
      out.push(`- ${TABLE1_MODELS[m]}: ${JSON.stringify(c.hyperParameters)}, ${c.seconds.toFixed(1)} s${c.note ? ` — ${c.note}` : ""}`);
    }
    out.push("");
  }
  return out.join("\n");
}

export function toCsv(cells: Cell[]): string {
  const lines = ["dataset,model,metric,ours,paper"];
  for (const c of cells) {
    for (const metric of TABLE1_METRICS) {
      lines.push([c.dataset, c.model, metric, c.metrics[metric] ?? "", PAPER_TABLE1[c.dataset]?.[c.model]?.[metric] ?? ""].join(","));
    }
  }
  return lines.join("\n") + "\n";
}

export interface Table1Options {
  datasets: string[];
  models: string[];
  quick: boolean;
  out: string;
  dataDir?: string;
  device: DeviceRequest;
  quiet?: boolean;
  ties?: TieRule;
  summaries?: string;
}

export async function runTable1(o: Table1Options): Promise<Cell[]> {
  for (const m of o.models) if (!COLUMNS[m]) throw new Error(`unknown model column '${m}' (known: ${Object.keys(COLUMNS).join(", ")})`);
  const cells: Cell[] = [];
  const total = o.datasets.length * o.models.length;
  const progress = new Progress("table1", !o.quiet);
  const log = (line: string) => !o.quiet && process.stderr.write(line + "\n");
  mkdirSync(o.out, { recursive: true });
  const save = () => {
    writeFileAtomic(join(o.out, "table1.json"), JSON.stringify({ cells, paper: PAPER_TABLE1 }, null, 2) + "\n");
    writeFileAtomic(join(o.out, "table1.csv"), toCsv(cells));
    writeFileAtomic(join(o.out, "table1.md"), toMarkdown(cells));
  };
  for (const d of o.datasets) {
    const ds = await loadDataset(d, { dataDir: o.dataDir });
    for (const m of o.models) {
      progress.update(cells.length / total, `${d} / ${m}`);
      log(`${d} / ${m} …`);
      const t0 = Date.now();
      const r = await COLUMNS[m](ds, { device: o.device, quick: o.quick, ties: o.ties ?? "index", summaries: o.summaries, log });
      cells.push({ dataset: d, model: m, ...r, seconds: (Date.now() - t0) / 1000 });
      save(); // partial results survive an interruption
    }
  }
  progress.done();
  return cells;
}

if ((import.meta as { main?: boolean }).main ?? (typeof process !== "undefined" && process.argv[1]?.endsWith("table1.ts"))) {
  const cli = cac("table1");
  cli
    .option("--datasets <list>", "Comma-separated dataset names", { default: "magazine,ml-1m,douban" })
    .option("--models <list>", "Comma-separated columns", { default: Object.keys(COLUMNS).join(",") })
    .option("--quick", "Small grids (a smoke run)")
    .option("--out <dir>", "Output folder", { default: "results" })
    .option("--data-dir <dir>", "Dataset folder")
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--json", "Print the cells as JSON on stdout")
    .option("--ties <rule>", "Equal scores: index (lower item index first) or random (seeded random item order)", { default: "index" })
    .option("--summaries <dir>", "DISTILL-CF summaries: read <dir>/<dataset>.infrec-summary if present, else distil and write it there")
    .help();
  const { options } = cli.parse();
  if (!options.help) {
    try {
      const cells = await runTable1({
        datasets: String(options.datasets).split(",").filter(Boolean),
        models: String(options.models).split(",").filter(Boolean),
        quick: Boolean(options.quick),
        out: String(options.out),
        dataDir: options.dataDir,
        device: options.device,
        ties: options.ties === "random" ? "random" : options.ties === "index" ? "index" : (() => {
          throw new Error(`--ties must be 'index' or 'random', got '${String(options.ties)}'`);
        })(),
        summaries: options.summaries,
      });
      if (options.json) console.log(JSON.stringify(cells, null, 2));
      else console.log(toMarkdown(cells));
    } catch (e) {
      console.error(`table1: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
}
