/**
 * The paper's appendix Figures 13–15 (B.6): Figures 1, 3 and 4 over the
 * metrics their main-text panels leave out (AUC, HR@100, NDCG@10, NDCG@100,
 * PSP@100). Nothing is fitted: the points are read from the JSON that
 * figure1.ts, figure3.ts and figure4.ts wrote, so the appendix always shows
 * the same runs as the main figures.
 *
 *   Figure 13 ← figure1.json: ∞-AE's test metrics against sampled users.
 *   Figure 14 ← figure3.json: the % drop of EASE's metric against EASE on the
 *               clean full data (the noise-0 "full" run of the same JSON).
 *   Figure 14's and 15's panels: one column per noise level, one row per metric.
 *   Figure 15 ← figure4.json: ∞-AE's and EASE's test metrics on noisy data.
 *
 *   npx tsx scripts/figure-appendix.ts [--figures results] [--out DIR] [--datasets a,b] [--quick]
 * reads --figures/figure{1,3,4}.json (--quick: figure{1,3,4}-quick.json) and
 * writes figure{13,14,15}.{csv,svg,png} (--quick: figure1x-quick.*) into --out
 * (default: the --figures folder). A missing input JSON skips its figure, and so
 * does a figure3.json without a clean (noise 0) full-data run, like --quick's.
 */
import { cac } from "cac";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { type ChartRow, type LineChartOptions, lineChartSpec, renderSvg, svgToPng } from "../lib/plot/chart.ts";
import type { SampledRun } from "../lib/sampling/experiment.ts";
import { metricRows } from "./figure1.ts";
import { percentDrop } from "./figure3.ts";
import { isEntry, main, MODEL_LABELS, samplerLabel } from "./figures-common.ts";

/** The metrics the main-text figures do not plot (the paper's appendix panels). */
export const APPENDIX_METRICS = ["AUC", "HR@100", "NDCG@10", "NDCG@100", "PSP@100"];

/** One appendix figure: which main figure it extends and how its chart is built. */
interface AppendixFigure {
  name: string;
  source: string;
  build: (runs: SampledRun[], quick: boolean) => { rows: ChartRow[]; chart: LineChartOptions };
  /** Why the runs cannot make this figure, or null when they can. */
  unusable?: (runs: SampledRun[]) => string | null;
}

const quickNote = (quick: boolean) => (quick ? " (--quick smoke run)" : "");
const datasetsOf = (runs: SampledRun[]) => [...new Set(runs.map((r) => r.dataset))];
/** Sampler labels in the order the runs first use them (the main figure's order), "full" left out. */
const samplerOrder = (runs: SampledRun[]) => [...new Set(runs.filter((r) => r.sampler !== "full").map((r) => samplerLabel(r.sampler)))];

/** Figure 13: Figure 1's chart over the appendix metrics. */
export function figure13(runs: SampledRun[], quick = false): { rows: ChartRow[]; chart: LineChartOptions } {
  const rows = metricRows(runs, APPENDIX_METRICS);
  return {
    rows,
    chart: {
      title: `Figure 13: ∞-AE trained on sampled users, remaining metrics (${datasetsOf(runs).join(", ")})`,
      subtitle: `AUC as a fraction, the rest × 100; dashed: ∞-AE trained on all users${quickNote(quick)}`,
      rows,
      x: { field: "users", title: "Training users (log scale)", log: true },
      y: { field: "value", title: "Test metric" },
      series: { field: "sampler", title: "Sampler" },
      seriesOrder: samplerOrder(runs),
      column: { field: "metric", title: "" },
      row: { field: "dataset", title: "" },
      width: 200,
      height: 160,
    },
  };
}

/**
 * Each metric's value for EASE on the clean full data, per dataset: the
 * noise-0 "full" run of figure 3 (what its HR@10 drop is measured against).
 */
export function cleanFullReference(runs: SampledRun[]): Map<string, Record<string, number>> {
  const reference = new Map<string, Record<string, number>>();
  for (const r of runs) if (r.noise === 0 && r.sampler === "full") reference.set(r.dataset, r.metrics);
  const missing = missingCleanReference(runs);
  if (missing) throw new Error(missing);
  return reference;
}

/**
 * Figure 3 without noise 0 among --noise (e.g. its --quick run) keeps only the
 * clean HR@10 in its notes, so the other metrics' drops cannot be computed.
 */
export function missingCleanReference(runs: SampledRun[]): string | null {
  const have = new Set(runs.filter((r) => r.noise === 0 && r.sampler === "full").map((r) => r.dataset));
  const missing = datasetsOf(runs).filter((d) => !have.has(d));
  return missing.length ? `no clean full-data run for ${missing.join(", ")} to measure drops against (run figure3.ts with 0 among --noise)` : null;
}

/** Figure 14: Figure 3's % drop, for each appendix metric. */
export function figure14(runs: SampledRun[], quick = false): { rows: ChartRow[]; chart: LineChartOptions } {
  const reference = cleanFullReference(runs);
  const rows: ChartRow[] = [];
  for (const r of runs) {
    for (const metric of APPENDIX_METRICS) {
      const value = r.metrics[metric];
      const clean = reference.get(r.dataset)![metric];
      if (value === undefined || clean === undefined) continue;
      rows.push({
        dataset: r.dataset,
        noise: `${r.noise}% noise`,
        metric,
        datasetMetric: `${r.dataset} · ${metric}`,
        sampler: samplerLabel(r.sampler),
        users: r.budgetUsers,
        value,
        reference: clean,
        drop: percentDrop(clean, value),
        kind: r.sampler === "full" ? "reference" : "sample",
      });
    }
  }
  const datasets = datasetsOf(runs);
  return {
    rows,
    chart: {
      title: `Figure 14: drop in EASE's metrics vs the clean full data (${datasets.join(", ")})`,
      subtitle: `dashed: EASE on all noisy users${quickNote(quick)}`,
      rows,
      x: { field: "users", title: "Training users (log scale)", log: true },
      y: { field: "drop", title: "% drop" },
      series: { field: "sampler", title: "Sampler" },
      seriesOrder: samplerOrder(runs),
      column: { field: "noise", title: "" },
      // One dataset per chart in practice; several stack as dataset · metric rows.
      row: { field: datasets.length > 1 ? "datasetMetric" : "metric", title: "" },
      width: 180,
      height: 130,
    },
  };
}

/** Figure 15: Figure 4's chart for each appendix metric. */
export function figure15(runs: SampledRun[], quick = false): { rows: ChartRow[]; chart: LineChartOptions } {
  // As in figure4.ts: "Full data" is one point per model, with its own legend entry.
  const fullLabel = (model: string) => `${samplerLabel("full")} (${MODEL_LABELS[model] ?? model})`;
  const rows: ChartRow[] = [];
  for (const r of runs) {
    for (const metric of APPENDIX_METRICS) {
      const value = r.metrics[metric];
      if (value === undefined) continue;
      rows.push({
        dataset: r.dataset,
        noise: `${r.noise}% noise`,
        metric,
        datasetMetric: `${r.dataset} · ${metric}`,
        sampler: r.sampler === "full" ? fullLabel(r.model) : samplerLabel(r.sampler),
        model: MODEL_LABELS[r.model] ?? r.model,
        users: r.budgetUsers,
        value,
      });
    }
  }
  const datasets = datasetsOf(runs);
  const models = [...new Set(runs.map((r) => r.model))];
  return {
    rows,
    chart: {
      title: `Figure 15: ∞-AE and EASE on samples of noisy data, remaining metrics (${datasets.join(", ")})`,
      subtitle: `AUC as a fraction, the rest × 100; one point per model at all users ("Full data")${quickNote(quick)}`,
      rows,
      x: { field: "users", title: "Training users (log scale)", log: true },
      y: { field: "value", title: "Test metric" },
      series: { field: "sampler", title: "Sampler" },
      seriesOrder: [...samplerOrder(runs), ...models.map(fullLabel)],
      dash: { field: "model", title: "Model" },
      column: { field: "noise", title: "" },
      row: { field: datasets.length > 1 ? "datasetMetric" : "metric", title: "" },
      width: 180,
      height: 130,
    },
  };
}

export const APPENDIX_FIGURES: AppendixFigure[] = [
  { name: "figure13", source: "figure1", build: figure13 },
  { name: "figure14", source: "figure3", build: figure14, unusable: missingCleanReference },
  { name: "figure15", source: "figure4", build: figure15 },
];

const CSV_COLUMNS = ["dataset", "noise", "metric", "sampler", "model", "users", "value", "reference", "drop"];

function csvCell(v: unknown): string {
  const s = typeof v === "number" ? String(Number(v.toPrecision(8))) : String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The plotted points, one line each (columns a figure does not use stay out). */
export function rowsToCsv(rows: ChartRow[]): string {
  const columns = CSV_COLUMNS.filter((c) => rows.some((r) => c in r)).concat("kind");
  const lines = [columns.join(",")];
  for (const r of rows) lines.push(columns.map((c) => csvCell(c === "kind" ? (r.kind ?? "sample") : r[c])).join(","));
  return lines.join("\n") + "\n";
}

/** The runs of a main figure's JSON, checked to be that figure's. */
export function readRuns(path: string, figure: string): { runs: SampledRun[]; quick: boolean } {
  let json: { figure?: unknown; quick?: unknown; runs?: unknown };
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
  }
  if (json.figure !== figure || !Array.isArray(json.runs)) throw new Error(`${path} is not the output of ${figure}.ts (figure '${String(json.figure)}')`);
  return { runs: json.runs as SampledRun[], quick: Boolean(json.quick) };
}

export interface AppendixOptions {
  /** Folder holding figure{1,3,4}.json. */
  figures: string;
  /** Output folder (default: `figures`). */
  out?: string;
  /** Read and write the *-quick files of --quick runs. */
  quick?: boolean;
  /** Only these datasets (default: every dataset in the JSON). */
  datasets?: string[];
  log?: (line: string) => void;
}

/** Writes each appendix figure whose source JSON exists; returns the names written. */
export async function runFigureAppendix(o: AppendixOptions): Promise<string[]> {
  const log = o.log ?? (() => {});
  const out = o.out ?? o.figures;
  const suffix = o.quick ? "-quick" : "";
  const written: string[] = [];
  for (const f of APPENDIX_FIGURES) {
    const source = join(o.figures, `${f.source}${suffix}.json`);
    if (!existsSync(source)) {
      log(`figure-appendix: ${source} not found; ${f.name} skipped`);
      continue;
    }
    const read = readRuns(source, f.source);
    const runs = o.datasets ? read.runs.filter((r) => o.datasets!.includes(r.dataset)) : read.runs;
    if (runs.length === 0) throw new Error(`${source} has no runs${o.datasets ? ` for ${o.datasets.join(", ")}` : ""}`);
    const unusable = f.unusable?.(runs);
    if (unusable) {
      log(`figure-appendix: ${source} has ${unusable}; ${f.name} skipped`);
      continue;
    }
    const { rows, chart } = f.build(runs, read.quick);
    mkdirSync(out, { recursive: true });
    const base = join(out, `${f.name}${suffix}`);
    const svg = await renderSvg(lineChartSpec(chart));
    writeFileAtomic(`${base}.csv`, rowsToCsv(rows));
    writeFileAtomic(`${base}.svg`, svg);
    writeFileAtomic(`${base}.png`, svgToPng(svg));
    log(`figure-appendix: ${base}.{csv,svg,png} from ${source} (${runs.length} runs)`);
    written.push(f.name);
  }
  if (written.length === 0) throw new Error(`no figure1/3/4${suffix}.json in ${o.figures}; run the figure scripts first`);
  return written;
}

if (isEntry(import.meta, "figure-appendix.ts")) {
  await main(async () => {
    const cli = cac("figure-appendix");
    cli
      .option("--figures <dir>", "Folder with figure1.json, figure3.json, figure4.json", { default: "results" })
      .option("--out <dir>", "Output folder (default: --figures)")
      .option("--datasets <list>", "Only these datasets (default: all in the JSON)")
      .option("--quick", "Read figure{1,3,4}-quick.json, write figure{13,14,15}-quick.*")
      .option("--quiet", "No progress lines on stderr")
      .help();
    const { options } = cli.parse();
    if (options.help) return;
    await runFigureAppendix({
      figures: String(options.figures),
      out: options.out === undefined ? undefined : String(options.out),
      quick: Boolean(options.quick),
      datasets: options.datasets === undefined ? undefined : String(options.datasets).split(",").map((s) => s.trim()).filter(Boolean),
      log: options.quiet ? undefined : (line) => process.stderr.write(line + "\n"),
    });
  }, "figure-appendix");
}
