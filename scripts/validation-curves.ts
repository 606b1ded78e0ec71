/**
 * Validation curves: one hyper-parameter at a time around a chosen point, every
 * other one held at that point, with validation metrics only (the test split is
 * never evaluated). The evidence issue 13 asks for where a target is missed:
 * does the pick sit at a peak of every axis, or would a wider grid help?
 *
 *   npx tsx scripts/validation-curves.ts --dataset ml-1m --model dan \
 *     --at '{"lambda":10,"dropout":0.1,"xi":0,"alpha":0.7,"beta":0.5}' \
 *     --axes 'lambda=2,5,10,20,50;dropout=0,0.05,0.1,0.2,0.3;alpha=0.5,0.6,0.7,0.8,0.9;beta=0.3,0.4,0.5,0.6,0.7' \
 *     [--metrics NDCG@10,HR@100] [--out results] [--quick]
 *
 * writes <out>/validation-curves-<dataset>-<model>.{md,csv,json}; --quick runs
 * Magazine's EASE on a two-value λ axis (a smoke run, -quick files).
 */
import { cac } from "cac";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../lib/data/registry.ts";
import { parseGridSpec } from "../lib/eval/grid-spec.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { modelEntry, type ModelParams } from "../lib/models/registry.ts";
import { tuneModel } from "../lib/tuning/tune.ts";
import { isEntry, main } from "./figures-common.ts";

export interface CurvePoint {
  /** The hyper-parameter varied, and its value here. */
  axis: string;
  value: number | string | boolean;
  /** Whether this is the chosen point itself. */
  atPick: boolean;
  params: ModelParams;
  /** Validation metrics of this candidate. */
  validation: Record<string, number>;
}

/** Every candidate of every axis: the pick with one key replaced (the pick itself once per axis). */
export function axisCandidates(at: ModelParams, axes: ReadonlyArray<{ key: string; values: readonly unknown[] }>): { axis: string; params: ModelParams }[] {
  const out: { axis: string; params: ModelParams }[] = [];
  for (const { key, values } of axes) {
    if (!(key in at)) throw new Error(`--axes: '${key}' is not a key of --at (${Object.keys(at).join(", ")})`);
    for (const v of values) out.push({ axis: key, params: { ...at, [key]: v } as ModelParams });
  }
  return out;
}

/** Markdown: one table per axis, the pick's row in bold. */
export function curvesMarkdown(title: string, points: CurvePoint[], metrics: string[]): string {
  const lines = [`# ${title}`, "", "Validation metrics only; each axis varies one hyper-parameter, the others stay at the pick (**bold**).", ""];
  for (const axis of [...new Set(points.map((p) => p.axis))]) {
    lines.push(`## ${axis}`, "", `| ${axis} | ${metrics.join(" | ")} |`, `| --- | ${metrics.map(() => "---").join(" | ")} |`);
    for (const p of points.filter((q) => q.axis === axis)) {
      const cells = [String(p.value), ...metrics.map((m) => (p.validation[m] ?? NaN).toFixed(3))];
      lines.push(`| ${(p.atPick ? cells.map((c) => `**${c}**`) : cells).join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

async function run(): Promise<void> {
  const cli = cac("validation-curves");
  cli.option("--dataset <name>", "Dataset", { default: "ml-1m" }).option("--model <name>", "Registered model", { default: "dan" })
    .option("--at <json>", "The chosen point, as JSON").option("--axes <spec>", "Values per axis, e.g. 'lambda=5,10,20;alpha=0.6,0.7'")
    .option("--metrics <list>", "Validation metrics reported", { default: "NDCG@10,HR@100" })
    .option("--data-dir <dir>", "Dataset folder").option("--out <dir>", "Output folder", { default: "results" })
    .option("--quick", "Smoke run: Magazine, EASE, two λ").help();
  const { options } = cli.parse();
  if (options.help) return;
  const quick = Boolean(options.quick);
  const dataset = quick ? "magazine" : String(options.dataset);
  const model = quick ? "ease" : String(options.model);
  modelEntry(model); // an unknown name fails here, before any data is loaded
  let at: ModelParams;
  try {
    at = JSON.parse(quick ? '{"lambda":100}' : String(options.at ?? "")) as ModelParams;
  } catch {
    throw new Error(`--at must be the chosen point as JSON, e.g. '{"lambda":10}', got '${String(options.at ?? "")}'`);
  }
  if (typeof at !== "object" || at === null || Array.isArray(at)) throw new Error("--at must be a JSON object of hyper-parameters");
  const axes = parseGridSpec(quick ? "lambda=50,100" : String(options.axes ?? ""));
  if (axes.length === 0) throw new Error("--axes names no hyper-parameter");
  const metrics = String(options.metrics).split(",").map((m) => m.trim()).filter(Boolean);
  const candidates = axisCandidates(at, axes);
  const ds = await loadDataset(dataset, { dataDir: options.dataDir });
  const started = performance.now();
  // Each distinct candidate is fitted once (the pick recurs on every axis).
  const distinct = [...new Map(candidates.map((c) => [JSON.stringify(c.params), c.params])).values()];
  console.error(`validation-curves: ${model} on ${dataset}, ${distinct.length} candidates …`);
  const result = await tuneModel(ds, model, { grid: distinct, test: false, onPoint: (p, i, n) => console.error(`  ${i + 1}/${n} ${JSON.stringify(p.params)}: ${metrics.map((m) => `${m} ${p.validation.metrics[m]?.toFixed(3)}`).join(", ")}`) });
  const byParams = new Map(result.points.map((p) => [JSON.stringify(p.params), p.validation.metrics]));
  const pickKey = JSON.stringify(at);
  const points: CurvePoint[] = candidates.map((c) => {
    const key = JSON.stringify(c.params);
    return { axis: c.axis, value: c.params[c.axis] as CurvePoint["value"], atPick: key === pickKey, params: c.params, validation: byParams.get(key) ?? {} };
  });
  const seconds = (performance.now() - started) / 1000;
  const out = String(options.out);
  mkdirSync(out, { recursive: true });
  const base = join(out, `validation-curves-${dataset}-${model}${quick ? "-quick" : ""}`);
  const title = `Validation curves: ${model} on ${dataset} around ${pickKey}`;
  writeFileAtomic(`${base}.json`, JSON.stringify({ dataset, model, at, axes, metrics, seconds, skipped: result.skipped, points }, null, 1) + "\n");
  writeFileAtomic(`${base}.csv`, [["axis", "value", "atPick", ...metrics].join(","), ...points.map((p) => [p.axis, p.value, p.atPick, ...metrics.map((m) => p.validation[m])].join(","))].join("\n") + "\n");
  writeFileAtomic(`${base}.md`, curvesMarkdown(title, points, metrics) + `\n${distinct.length} fits, ${seconds.toFixed(0)} s.\n`);
  console.error(`validation-curves: wrote ${base}.{md,csv,json} (${seconds.toFixed(0)} s)`);
}

if (isEntry(import.meta, "validation-curves.ts")) await main(run, "validation-curves");
