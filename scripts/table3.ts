/**
 * The paper's Table 3 (appendix B.3): the hyper-parameters of every model —
 * the grid searched on validation HR@100 and the candidate it picked — per
 * dataset, each cell naming its source:
 *
 * - grids come from the model registry (lib/models/registry.ts, whose
 *   baseline grids are lib/models/grids.ts), as searched for that dataset;
 *   DISTILL-CF's own settings from lib/distill/run.ts's defaults;
 * - picks come from results already written: the full-data run (noise 0) of
 *   each model in the figure JSONs (figure1: ∞-AE, figure2: EASE, figure10:
 *   MVAE, …), the DISTILL-CF runs at μ = 500 for the summary rows, and the
 *   cells of a table1.json when --table1 names one. A model no file covers
 *   says so instead of a pick.
 *
 *   npx tsx scripts/table3.ts [--datasets magazine,ml-1m] [--figures docs/figures] [--table1 results/table1.json]
 *                             [--quick] [--out results]
 * reads <figures>/<dataset>/figure{1,2,3,4,10}.json and writes results/table3.{md,csv,json}
 * (--quick: Magazine only, table3-quick.*).
 */
import { cac } from "cac";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../lib/data/registry.ts";
import { RUN_DISTILL_DEFAULTS } from "../lib/distill/run.ts";
import { TABLE1_MODELS } from "../lib/eval/paper-results.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { BASELINE_NAMES } from "../lib/models/grids.ts";
import type { HyperParameters } from "../lib/models/model.ts";
import { datasetSize, MODELS, type ModelParams } from "../lib/models/registry.ts";
import type { SampledRun } from "../lib/sampling/experiment.ts";
import { isEntry, main } from "./figures-common.ts";

/** The figure JSONs a pick can come from, in the order they are searched. */
export const PICK_FIGURES = ["figure1", "figure2", "figure10", "figure4", "figure3"];
/** Budget of the DISTILL-CF summary rows (Table 1's DISTILL-CF + ∞-AE column). */
export const SUMMARY_MU = RUN_DISTILL_DEFAULTS.mu;

export interface Table3Row {
  dataset: string;
  /** Row label, e.g. "EASE" or "EASE on DISTILL-CF summaries". */
  model: string;
  /** Candidates in the grid. */
  candidates: number;
  grid: string;
  gridSource: string;
  picked: string;
  pickSource: string;
}

const formatValue = (v: unknown): string => (typeof v === "object" ? JSON.stringify(v) : String(v));

/** "k ∈ {a, b}" per key that varies, "k = v" per key that does not. */
export function describeGrid(grid: readonly ModelParams[]): string {
  if (grid.length === 0 || grid.every((p) => Object.keys(p).length === 0)) return "none";
  const keys = [...new Set(grid.flatMap((p) => Object.keys(p)))];
  return keys
    .map((k) => {
      const values = [...new Set(grid.map((p) => formatValue(p[k] ?? "default")))];
      return values.length === 1 ? `${k} = ${values[0]}` : `${k} ∈ {${values.join(", ")}}`;
    })
    .join("; ");
}

export function describePick(p: HyperParameters): string {
  const entries = Object.entries(p);
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k} = ${formatValue(v)}`).join("; ");
}

/** Recorded hyper-parameters hold lists as strings ("200-100": MVAE's hidden layers), grids as arrays. */
const listText = (v: unknown): string => (Array.isArray(v) ? v.join(",") : String(v)).replace(/-/g, ",");
const sameValue = (a: unknown, b: unknown): boolean => listText(a) === listText(b);

/** The picked key = value pairs whose value the grid does not have (keys the grid does not vary are ignored). */
export function valuesOutsideGrid(pick: HyperParameters, grid: readonly ModelParams[]): string[] {
  return Object.entries(pick)
    .filter(([k]) => grid.some((p) => k in p))
    .filter(([k, v]) => !grid.some((p) => sameValue(p[k], v)))
    .map(([k, v]) => `${k} = ${formatValue(v)}`);
}

/** Picks found in result files: by dataset, then row key (a model name, or "summary:<model>"). */
type Picks = Map<string, Map<string, { hyperParameters: HyperParameters; source: string }>>;

function addPick(picks: Picks, dataset: string, key: string, hyperParameters: HyperParameters, source: string): void {
  if (!picks.has(dataset)) picks.set(dataset, new Map());
  const byKey = picks.get(dataset)!;
  if (!byKey.has(key)) byKey.set(key, { hyperParameters, source }); // the first source searched wins
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** Picks from a figure JSON: full-data runs on clean data, and DISTILL-CF runs at μ = SUMMARY_MU. */
export function picksFromFigure(picks: Picks, path: string): void {
  const json = readJson(path) as { figure?: unknown; runs?: unknown };
  if (typeof json.figure !== "string" || !Array.isArray(json.runs)) throw new Error(`${path} is not a figure script's JSON`);
  for (const r of json.runs as SampledRun[]) {
    if (r.noise !== 0) continue;
    if (r.sampler === "full") addPick(picks, r.dataset, r.model, r.hyperParameters, `${path} (${json.figure}, full data)`);
    if (r.sampler === "distill-cf" && r.budgetUsers === SUMMARY_MU) {
      addPick(picks, r.dataset, `summary:${r.model}`, r.hyperParameters, `${path} (${json.figure}, DISTILL-CF μ = ${SUMMARY_MU})`);
    }
  }
}

/** Picks from scripts/table1.ts's JSON (its cells; DISTILL-CF + ∞-AE as the summary row). */
export function picksFromTable1(picks: Picks, path: string): void {
  const json = readJson(path) as { cells?: unknown };
  if (!Array.isArray(json.cells)) throw new Error(`${path} is not table1.ts's JSON (no cells)`);
  for (const c of json.cells as { dataset: string; model: string; hyperParameters: HyperParameters }[]) {
    const key = c.model === "distill-inf-ae" ? "summary:inf-ae" : c.model;
    addPick(picks, c.dataset, key, c.hyperParameters, `${path} (table1)`);
  }
}

const DISTILL_SETTINGS = (() => {
  const d = RUN_DISTILL_DEFAULTS;
  return `μ = ${d.mu}; γ = ${d.gamma}; τ = ${d.tau}; λ₂ = ${d.cardReg}; Adam lr = ${d.lr}; steps ≤ ${d.steps}, stop after ${d.patience} without improvement; inner λ re-picked from {${d.lambdaGrid.join(", ")}}`;
})();

export interface Table3Options {
  datasets: string[];
  /** Folder with <dataset>/figure*.json (default docs/figures). */
  figures: string;
  /** A table1.ts JSON whose cells also count as picks. */
  table1?: string;
  dataDir?: string;
  quick?: boolean;
  out: string;
  log?: (line: string) => void;
}

export async function runTable3(o: Table3Options): Promise<Table3Row[]> {
  const picks: Picks = new Map();
  if (o.table1) {
    if (!existsSync(o.table1)) throw new Error(`--table1: ${o.table1} does not exist`);
    picksFromTable1(picks, o.table1);
  }
  for (const d of o.datasets) {
    for (const f of PICK_FIGURES) {
      const path = join(o.figures, d, `${f}.json`);
      if (existsSync(path)) picksFromFigure(picks, path);
    }
  }
  const rows: Table3Row[] = [];
  for (const name of o.datasets) {
    o.log?.(`table3: ${name} …`);
    // The baselines' grids depend on the dataset's size class, so the dataset is loaded.
    const ds = await loadDataset(name, { dataDir: o.dataDir });
    const picked = picks.get(name) ?? new Map();
    const row = (label: string, grid: readonly ModelParams[], gridSource: string, key: string, extra = ""): Table3Row => {
      const pick = picked.get(key);
      const wanted = key.startsWith("summary:") ? `DISTILL-CF μ = ${SUMMARY_MU} run of ${key.slice("summary:".length)}` : `full-data run of ${key}`;
      const outside = pick ? valuesOutsideGrid(pick.hyperParameters, grid) : [];
      return {
        dataset: name,
        model: label,
        candidates: grid.length,
        grid: extra + describeGrid(grid),
        gridSource,
        picked: pick
          ? describePick(pick.hyperParameters) + (outside.length ? ` (${outside.join(", ")} not in this grid: the recorded run searched a different one)` : "")
          : grid.length <= 1 ? "the only candidate" : "not in the result files read",
        pickSource: pick ? pick.source : grid.length <= 1 ? "–" : `no ${wanted} in ${join(o.figures, name)}${o.table1 ? ` or ${o.table1}` : ""}`,
      };
    };
    const size = datasetSize(ds);
    for (const model of Object.keys(TABLE1_MODELS)) {
      if (model === "distill-inf-ae") continue;
      const entry = MODELS[model];
      const source = (BASELINE_NAMES as readonly string[]).includes(model) ? `lib/models/grids.ts (${size} dataset)` : "lib/models/registry.ts";
      rows.push(row(TABLE1_MODELS[model], entry.gridFor(ds), source, model));
    }
    rows.push(
      row("DISTILL-CF + ∞-AE", MODELS["inf-ae"].gridFor(ds, { summary: true }), "lib/distill/run.ts defaults; lib/models/registry.ts (summary grid)", "summary:inf-ae", `DISTILL-CF: ${DISTILL_SETTINGS}. ∞-AE on the summary: `),
      row("EASE on DISTILL-CF summaries (Figure 2)", MODELS.ease.gridFor(ds, { summary: true }), "lib/models/registry.ts (summary grid)", "summary:ease"),
      row("MVAE on DISTILL-CF summaries (Figure 10)", MODELS.multvae.gridFor(ds, { summary: true }), `lib/models/grids.ts (${size} dataset)`, "summary:multvae"),
    );
  }
  mkdirSync(o.out, { recursive: true });
  const base = join(o.out, o.quick ? "table3-quick" : "table3");
  writeFileAtomic(`${base}.json`, JSON.stringify({ table: "table3", rows }, null, 2) + "\n");
  writeFileAtomic(`${base}.csv`, toCsv(rows));
  writeFileAtomic(`${base}.md`, toMarkdown(rows));
  return rows;
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|");

export function toMarkdown(rows: Table3Row[]): string {
  const out = [
    "# Table 3: hyper-parameters searched and picked",
    "",
    "Generated by scripts/table3.ts. Every model is picked on validation HR@100; \"grid\" is what was",
    "searched (source: the file named), \"picked\" is the candidate a recorded run chose (source: the",
    "result file and run named).",
  ];
  for (const d of [...new Set(rows.map((r) => r.dataset))]) {
    out.push("", `## ${d}`, "", "| model | candidates | grid | grid source | picked | pick source |", "| --- | ---: | --- | --- | --- | --- |");
    for (const r of rows.filter((x) => x.dataset === d)) {
      out.push(`| ${[r.model, String(r.candidates), r.grid, r.gridSource, r.picked, r.pickSource].map(mdCell).join(" | ")} |`);
    }
  }
  return out.join("\n") + "\n";
}

function csvCell(s: string | number): string {
  const v = String(s);
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(rows: Table3Row[]): string {
  const lines = ["dataset,model,candidates,grid,grid_source,picked,pick_source"];
  for (const r of rows) lines.push([r.dataset, r.model, r.candidates, r.grid, r.gridSource, r.picked, r.pickSource].map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

if (isEntry(import.meta, "table3.ts")) {
  await main(async () => {
    const cli = cac("table3");
    cli
      .option("--datasets <list>", "Datasets (default magazine,ml-1m; --quick: magazine)")
      .option("--figures <dir>", "Folder with <dataset>/figure*.json", { default: "docs/figures" })
      .option("--table1 <file>", "Also take picks from this table1.ts JSON")
      .option("--data-dir <dir>", "Dataset folder")
      .option("--quick", "Magazine only; writes table3-quick.*")
      .option("--out <dir>", "Output folder", { default: "results" })
      .option("--quiet", "No progress lines on stderr")
      .help();
    const { options } = cli.parse();
    if (options.help) return;
    const quick = Boolean(options.quick);
    const rows = await runTable3({
      datasets: options.datasets === undefined ? (quick ? ["magazine"] : ["magazine", "ml-1m"]) : String(options.datasets).split(",").map((s) => s.trim()).filter(Boolean),
      figures: String(options.figures),
      table1: options.table1 === undefined ? undefined : String(options.table1),
      dataDir: options.dataDir === undefined ? undefined : String(options.dataDir),
      quick,
      out: String(options.out),
      log: options.quiet ? undefined : (line) => process.stderr.write(line + "\n"),
    });
    console.log(toMarkdown(rows));
  }, "table3");
}
