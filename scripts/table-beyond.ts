/**
 * Beyond the paper: the closed-form recommenders published since 2019 on the
 * same engine and protocol as Table 1 (hyper-parameters on validation HR@100,
 * test metrics at the pick), in Table 1's layout with the paper's best row
 * beside them, plus each model's grid size and wall time; optionally a column
 * of the same models fitted on a DISTILL-CF summary (summaries that transfer).
 *
 *   npx tsx scripts/table-beyond.ts [--datasets magazine,ml-1m,douban] [--models ease,edlae,…]
 *     [--summaries DIR] [--trained-on full,summary] [--quick] [--out results] [--data-dir DIR] [--device cpu] [--merge] [--metric NDCG@10]
 * writes results/table-beyond.{md,csv,json}; with --merge the rows already in
 * OUT/table-beyond.json for other (dataset, model, trained on) are kept, so a
 * few models can be (re)run into an existing table. --metric picks on another
 * validation metric; such rows name it (a model may then have one row per metric). With --summaries DIR each model is also
 * fitted on DIR/<dataset>.infrec-summary (written by `infrec distill` or table1.ts
 * --summaries; none is distilled here) and scored on the real users' test split.
 * `seconds` is the whole grid's wall time; the cost of one fit at the pick
 * (`fit`: seconds and peak RSS in a fresh process) is measured apart by
 * bench/beyond-fit.ts --write-table, and shown where a cell has it.
 */
import { cac } from "cac";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../lib/data/registry.ts";
import { loadSummary, summaryToMatrix } from "../lib/distill/summary.ts";
import { PAPER_TABLE1, TABLE1_METRICS, TABLE1_MODELS } from "../lib/eval/paper-results.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import type { HyperParameters } from "../lib/models/model.ts";
import { MODELS } from "../lib/models/registry.ts";
import type { DeviceRequest } from "../lib/onnx/backend.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import { Progress } from "../lib/util/terminal.ts";

/** The beyond-the-paper models in the table's order (those not registered yet are left out with a note). */
export const BEYOND_MODELS = [
  "ease", "edlae", "dlae", "rlae", "rdlae", "dan", "dan-rlae", "gf-cf", "turbo-cf", "svd-ae", "inf-ae", "inf-ae-fine", "inf-ae-nngp", "blend",
];

export const BEYOND_METRICS = [...TABLE1_METRICS, "PSP@100"] as const;

export interface BeyondCell {
  dataset: string;
  model: string;
  /** "full" (all training users) or "summary" (a DISTILL-CF summary). */
  trainedOn: "full" | "summary";
  metrics: Record<string, number>;
  hyperParameters: HyperParameters;
  /** The validation metric that picked the hyper-parameters, where not HR@100. */
  selectedBy?: string;
  gridPoints: number;
  seconds: number;
  /** One fit at the pick, measured by bench/beyond-fit.ts (absent where not measured). */
  fit?: FitCost;
}

/** One fit of a model at its picked hyper-parameters in a fresh process (bench/beyond-fit.ts). */
export interface FitCost {
  /** Wall seconds of `fit` alone (loading the data excluded). */
  seconds: number;
  /** The process's peak resident set (MiB): data, runtime and the model's fit together. */
  peakRssMb: number;
  /** Resident set (MiB) after loading the data, before the fit: peakRssMb − dataRssMb is the fit's own. */
  dataRssMb: number;
  /** The machine, in words (CPU, cores, memory, ORT threads). */
  machine: string;
  /** 1-minute load average when the bench started and when it ended. */
  loadAverage: [number, number];
  /** ISO date of the measurement. */
  measuredAt: string;
}

export interface BeyondOptions {
  datasets: string[];
  models: string[];
  quick: boolean;
  out: string;
  dataDir?: string;
  device: DeviceRequest;
  summaries?: string;
  quiet?: boolean;
  /** Keep the cells of OUT/table-beyond.json that this run does not recompute. */
  merge?: boolean;
  /** Validation metric that picks the hyper-parameters (default HR@100, the paper's). */
  metric?: string;
  /**
   * Which columns to compute (default both where a summary exists): "summary"
   * alone adds the summary column to a --merge'd table without refitting on full data.
   */
  trainedOn?: readonly ("full" | "summary")[];
}

const cellKey = (c: Pick<BeyondCell, "dataset" | "model" | "trainedOn" | "selectedBy">): string =>
  `${c.dataset}/${c.model}/${c.trainedOn}/${c.selectedBy ?? "HR@100"}`;

/** The cells of an earlier table-beyond.json (none if there is no file). */
export function readCells(path: string): BeyondCell[] {
  if (!existsSync(path)) return [];
  const parsed = JSON.parse(readFileSync(path, "utf8")) as { cells?: BeyondCell[] };
  if (!Array.isArray(parsed.cells)) throw new Error(`${path}: no cells array`);
  return parsed.cells;
}

/**
 * Earlier cells with this run's in place of those it recomputed; new ones after
 * them. A recomputed cell keeps the earlier fit cost when it picked the same
 * hyper-parameters (the cost is that of one fit at the pick).
 */
export function mergeCells(earlier: readonly BeyondCell[], fresh: readonly BeyondCell[]): BeyondCell[] {
  const byKey = new Map(fresh.map((c) => [cellKey(c), c]));
  const merged = earlier.map((c) => {
    const f = byKey.get(cellKey(c));
    if (!f) return c;
    const samePick = JSON.stringify(f.hyperParameters) === JSON.stringify(c.hyperParameters);
    return c.fit && !f.fit && samePick ? { ...f, fit: c.fit } : f;
  });
  const kept = new Set(merged.map(cellKey));
  return [...merged, ...fresh.filter((c) => !kept.has(cellKey(c)))];
}

/** The paper's best Table 1 row of a dataset by NDCG@10 (its model key and metrics), if it reports the dataset. */
export function paperBest(dataset: string): { model: string; metrics: Record<string, number> } | undefined {
  const rows = PAPER_TABLE1[dataset];
  if (!rows) return undefined;
  const [model, metrics] = Object.entries(rows).reduce((a, b) => ((b[1]["NDCG@10"] ?? -1) > (a[1]["NDCG@10"] ?? -1) ? b : a));
  return { model, metrics };
}

export async function runTableBeyond(o: BeyondOptions): Promise<BeyondCell[]> {
  for (const m of o.models) if (!MODELS[m]) throw new Error(`unknown model '${m}' (known: ${Object.keys(MODELS).join(", ")})`);
  const metric = o.metric ?? "HR@100";
  const cells: BeyondCell[] = [];
  const log = (line: string) => !o.quiet && process.stderr.write(line + "\n");
  const progress = new Progress("table-beyond", !o.quiet);
  const columns = o.trainedOn ?? ["full", "summary"];
  for (const c of columns) if (c !== "full" && c !== "summary") throw new Error(`--trained-on: '${c}' is neither full nor summary`);
  if (!columns.includes("full") && !o.summaries) throw new Error("--trained-on summary needs --summaries DIR");
  const runs = o.datasets.length * o.models.length * (o.summaries ? columns.length : 1);
  mkdirSync(o.out, { recursive: true });
  const earlier = o.merge ? readCells(join(o.out, "table-beyond.json")) : [];
  const save = () => writeTable(o.out, mergeCells(earlier, cells));
  for (const d of o.datasets) {
    const ds = await loadDataset(d, { dataDir: o.dataDir });
    const summaryPath = o.summaries ? join(o.summaries, `${d}.infrec-summary`) : undefined;
    const summary = summaryPath && existsSync(summaryPath) ? loadSummary(summaryPath) : undefined;
    if (summaryPath && !summary) log(`${d}: no summary at ${summaryPath}; the summary column stays empty`);
    if (summary && summary.header.itemIds.length !== ds.itemIds.length) throw new Error(`${summaryPath}: summary has ${summary.header.itemIds.length} items, dataset '${d}' has ${ds.itemIds.length}`);
    for (const m of o.models) {
      for (const trainedOn of columns.filter((c) => c === "full" || summary)) {
        progress.update(cells.length / runs, `${d} / ${m} / ${trainedOn}`);
        log(`${d} / ${m} (${trainedOn}) …`);
        const t0 = Date.now();
        const r = await tuneModel(ds, m, {
          quick: o.quick,
          summary: trainedOn === "summary",
          train: trainedOn === "summary" ? summaryToMatrix(summary!) : undefined,
          build: { device: o.device },
          test: true,
          metric,
          onPoint: (p, i, n) => {
            const other = metric === "HR@100" ? "" : `, ${metric} ${p.validation.metrics[metric]?.toFixed(2)}`;
            log(`  ${m} ${JSON.stringify(p.params)} validation HR@100 ${p.validation.metrics["HR@100"].toFixed(2)}${other} (${i + 1}/${n})`);
          },
          onSkip: (s) => log(`  ${m} ${JSON.stringify(s.params)} skipped: ${s.reason}`),
        });
        cells.push({
          dataset: d, model: m, trainedOn, metrics: r.test!.metrics, hyperParameters: r.hyperParameters,
          ...(metric === "HR@100" ? {} : { selectedBy: metric }),
          gridPoints: r.points.length, seconds: (Date.now() - t0) / 1000,
        });
        save(); // partial results survive an interruption
      }
    }
  }
  progress.done();
  return cells;
}

/** Writes DIR/table-beyond.{json,csv,md} for these cells. */
export function writeTable(dir: string, cells: BeyondCell[]): void {
  const datasets = [...new Set(cells.map((c) => c.dataset))];
  writeFileAtomic(join(dir, "table-beyond.json"), JSON.stringify({ cells, paperBest: Object.fromEntries(datasets.map((d) => [d, paperBest(d)])) }, null, 2) + "\n");
  writeFileAtomic(join(dir, "table-beyond.csv"), toCsv(cells));
  writeFileAtomic(join(dir, "table-beyond.md"), toMarkdown(cells));
}

const fmt = (metric: string, v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : metric === "AUC" ? v.toFixed(4) : v.toFixed(2));

export function toMarkdown(cells: BeyondCell[]): string {
  const out = ["# Beyond the paper: closed-form recommenders, test set (hyper-parameters on validation HR@100 unless a row names another metric)", ""];
  for (const d of [...new Set(cells.map((c) => c.dataset))]) {
    const rows = cells.filter((x) => x.dataset === d);
    const costs = rows.flatMap((c) => (c.fit ? [c.fit] : []));
    const fitHead = costs.length > 0 ? " fit s | peak RSS MB | fit's own MB |" : "";
    const fitRule = costs.length > 0 ? " --- | --- | --- |" : "";
    out.push(`## ${d}`, "", `| model | trained on | ${BEYOND_METRICS.join(" | ")} | picked | grid | seconds |${fitHead}`, `| --- | --- |${BEYOND_METRICS.map(() => " --- |").join("")} --- | --- | --- |${fitRule}`);
    for (const c of rows) {
      const fit = costs.length === 0 ? "" : c.fit ? ` ${c.fit.seconds.toFixed(1)} | ${c.fit.peakRssMb.toFixed(0)} | ${(c.fit.peakRssMb - c.fit.dataRssMb).toFixed(0)} |` : " – | – | – |";
      out.push(`| ${c.model}${c.selectedBy ? ` (validation ${c.selectedBy})` : ""} | ${c.trainedOn} | ${BEYOND_METRICS.map((m) => fmt(m, c.metrics[m])).join(" | ")} | ${JSON.stringify(c.hyperParameters)} | ${c.gridPoints} | ${c.seconds.toFixed(1)} |${fit}`);
    }
    const best = paperBest(d);
    if (best) out.push(`| paper's best: ${TABLE1_MODELS[best.model] ?? best.model} | full | ${BEYOND_METRICS.map((m) => fmt(m, best.metrics[m])).join(" | ")} | | | |${costs.length > 0 ? " | | |" : ""}`);
    out.push("");
    if (costs.length > 0) out.push(fitCostNote(costs), "");
  }
  return out.join("\n");
}

/** What the fit columns of a dataset mean, and where and under what load they were measured. */
function fitCostNote(costs: FitCost[]): string {
  const machines = [...new Set(costs.map((f) => f.machine))];
  const dates = [...new Set(costs.map((f) => f.measuredAt.slice(0, 10)))];
  const loads = costs.flatMap((f) => f.loadAverage);
  return "*seconds*: the whole grid search's wall time (validation of every point, the test at the pick). " +
    "*fit s*, *peak RSS MB*: one fit at the pick in a fresh process (`bench/beyond-fit.ts`), loading the data excluded; " +
    "*fit's own MB*: the peak less the resident set after loading the data. " +
    `Measured ${dates.join(", ")} on ${machines.join("; ")}, 1-minute load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}.`;
}

export function toCsv(cells: BeyondCell[]): string {
  // The fit columns come last, and only where some cell has a fit cost (earlier tables are unchanged).
  const withFit = cells.some((c) => c.fit);
  const lines = [`dataset,model,trained_on,${BEYOND_METRICS.join(",")},hyper_parameters,grid_points,seconds,selected_by${withFit ? ",fit_seconds,peak_rss_mb,data_rss_mb" : ""}`];
  for (const c of cells) {
    const fit = !withFit ? [] : c.fit ? [c.fit.seconds, c.fit.peakRssMb, c.fit.dataRssMb] : ["", "", ""];
    lines.push([c.dataset, c.model, c.trainedOn, ...BEYOND_METRICS.map((m) => c.metrics[m] ?? ""), `"${JSON.stringify(c.hyperParameters).replaceAll('"', '""')}"`, c.gridPoints, c.seconds, c.selectedBy ?? "HR@100", ...fit].join(","));
  }
  return lines.join("\n") + "\n";
}

if ((import.meta as { main?: boolean }).main ?? (typeof process !== "undefined" && process.argv[1]?.endsWith("table-beyond.ts"))) {
  const cli = cac("table-beyond");
  cli
    .option("--datasets <list>", "Comma-separated dataset names", { default: "magazine,ml-1m,douban" })
    .option("--models <list>", "Comma-separated registry models", { default: BEYOND_MODELS.filter((m) => MODELS[m]).join(",") })
    .option("--summaries <dir>", "Also fit every model on <dir>/<dataset>.infrec-summary")
    .option("--quick", "Small grids (a smoke run)")
    .option("--out <dir>", "Output folder", { default: "results" })
    .option("--data-dir <dir>", "Dataset folder")
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--quiet", "No progress on stderr")
    .option("--merge", "Keep the rows of OUT/table-beyond.json that this run does not recompute")
    .option("--metric <name>", "Validation metric that picks hyper-parameters", { default: "HR@100" })
    .option("--trained-on <list>", "Columns to compute: full, summary or both (default full,summary)", { default: "full,summary" })
    .option("--json", "Print the cells as JSON on stdout")
    .help();
  const { options } = cli.parse();
  if (!options.help) {
    try {
      const cells = await runTableBeyond({
        datasets: String(options.datasets).split(",").filter(Boolean),
        models: String(options.models).split(",").filter(Boolean),
        quick: Boolean(options.quick),
        out: String(options.out),
        dataDir: options.dataDir,
        device: options.device,
        summaries: options.summaries,
        quiet: Boolean(options.quiet),
        merge: Boolean(options.merge),
        metric: String(options.metric),
        trainedOn: String(options.trainedOn).split(",").filter(Boolean) as ("full" | "summary")[],
      });
      console.log(options.json ? JSON.stringify(cells, null, 2) : toMarkdown(cells));
    } catch (e) {
      console.error(`table-beyond: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
}
