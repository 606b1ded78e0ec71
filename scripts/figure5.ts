/**
 * The paper's Figure 5: DISTILL-CF for continual learning. The log is cut by
 * time into equal-sized periods; Mult-VAE is trained period by period (warm
 * started from its previous period's model) by four methods — Joint (all data
 * so far), Individual (the current period only), ADER (exemplar replay with
 * adaptive distillation) and DISTILL-CF (a distilled summary replayed) — and
 * each model is tested (HR@10, NDCG@10) on the next period (lib/continual).
 *
 *   npx tsx scripts/figure5.ts [--data ratings.dat] [--periods 17] [--budget 50]
 *                              [--quick] [--out results] [--seed 42] [--replot] [--json]
 * writes <out>/figure5.{csv,json,svg,png} (--quick: figure5-quick.*).
 *
 * Default data: MovieLens-100K's u.data in ../shared/data/ml-100k-raw (the
 * paper used ML-1M: pass its ratings.dat with --data).
 */
import { cac } from "cac";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readInteractions } from "../lib/data/text.ts";
import { CONTINUAL_METHODS, type ContinualMethod, type ContinualOptions, type ContinualPoint, METHOD_LABELS, type PeriodFacts, periodFacts, runContinual } from "../lib/continual/run.ts";
import type { RunDistillOptions } from "../lib/distill/run.ts";
import { parseDeviceRequest } from "../lib/onnx/backend.ts";
import { type ChartRow, lineChartSpec, renderSvg, svgToPng } from "../lib/plot/chart.ts";
import { writeFileAtomic } from "../lib/util/files.ts";
import { isEntry, main } from "./figures-common.ts";

export const DEFAULT_DATA = join(import.meta.dirname, "../../shared/data/ml-100k-raw/u.data");

/** The committed run's settings (ML-100K on two cores); --quick shrinks them to a smoke run. */
const FULL = { periods: 17, budget: 50, epochs: 10, hidden: [200], latent: 64, batchSize: 32, distillSteps: 50, distillGamma: 50 };
const QUICK = { periods: 4, budget: 20, epochs: 2, hidden: [32], latent: 8, batchSize: 64, distillSteps: 2, distillGamma: 5 };

export interface Figure5Settings {
  data: string;
  format: string;
  name: string;
  quick: boolean;
  out: string;
  replot: boolean;
  json: boolean;
  continual: ContinualOptions;
  log: (line: string) => void;
}

function positiveInt(flag: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new Error(`--${flag} must be a positive integer, got '${String(v)}'`);
  return x;
}

function positiveNumber(flag: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!(Number.isFinite(x) && x > 0)) throw new Error(`--${flag} must be a number > 0, got '${String(v)}'`);
  return x;
}

/** Parses the flags; null when --help was printed. */
export function parseFigure5Args(argv: string[] = process.argv): Figure5Settings | null {
  const cli = cac("figure5");
  cli
    .option("--data <file>", "Interaction log with timestamps (default: ../shared/data/ml-100k-raw/u.data; ML-1M: ratings.dat)")
    .option("--format <f>", "Log format: auto, movielens, csv, tsv, recbole, netflix", { default: "auto" })
    .option("--name <name>", "Dataset name in the outputs (default: from --data, ml-100k for u.data, ml-1m for ratings.dat)")
    .option("--periods <n>", `Equal-sized time periods (default ${FULL.periods}; --quick ${QUICK.periods})`)
    .option("--methods <list>", `Methods (default ${CONTINUAL_METHODS.join(",")})`)
    .option("--budget <rows>", `Replay rows of ADER and DISTILL-CF (default ${FULL.budget}; --quick ${QUICK.budget})`)
    .option("--epochs <n>", `Mult-VAE epochs per period (default ${FULL.epochs}; --quick ${QUICK.epochs})`)
    .option("--hidden <n>", `Mult-VAE hidden width (default ${FULL.hidden[0]}; --quick ${QUICK.hidden[0]})`)
    .option("--latent <n>", `Mult-VAE latent size (default ${FULL.latent}; --quick ${QUICK.latent})`)
    .option("--batch-size <n>", `Mult-VAE rows per batch (default ${FULL.batchSize}; --quick ${QUICK.batchSize})`)
    .option("--lr <x>", "Mult-VAE Adam learning rate", { default: 1e-3 })
    .option("--ader-lambda <x>", "ADER's λ_base", { default: 1 })
    .option("--distill-steps <n>", `DISTILL-CF outer steps per period (default ${FULL.distillSteps}; --quick ${QUICK.distillSteps})`)
    .option("--distill-gamma <n>", `DISTILL-CF Gumbel samples (default ${FULL.distillGamma}; --quick ${QUICK.distillGamma})`)
    .option("--distill-tau <t>", "DISTILL-CF temperature", { default: 10 })
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto (DISTILL-CF's engine)", { default: "cpu" })
    .option("--quick", "Smoke run: 4 periods, a small Mult-VAE, 2 DISTILL-CF steps")
    .option("--out <dir>", "Output folder", { default: "results" })
    .option("--seed <n>", "Seed of the models, herding ties and DISTILL-CF", { default: 42 })
    .option("--replot", "Redraw the SVG and PNG from the JSON of an earlier run in --out")
    .option("--json", "Print the result JSON on stdout")
    .option("--quiet", "No progress lines on stderr")
    .help();
  const { options } = cli.parse(argv);
  if (options.help) return null;
  const quick = Boolean(options.quick);
  const d = quick ? QUICK : FULL;
  const data = options.data === undefined ? DEFAULT_DATA : String(options.data);
  const methods = options.methods === undefined ? [...CONTINUAL_METHODS] : String(options.methods).split(",").map((s) => s.trim());
  for (const m of methods) if (!(CONTINUAL_METHODS as readonly string[]).includes(m)) throw new Error(`--methods: unknown method '${m}' (known: ${CONTINUAL_METHODS.join(", ")})`);
  const seed = Number(options.seed);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new Error(`--seed must be an integer in [0, 2^32), got '${String(options.seed)}'`);
  const file = basename(data);
  const name = options.name !== undefined ? String(options.name) : file === "u.data" ? "ml-100k" : file === "ratings.dat" ? "ml-1m" : file.replace(/\.[^.]*$/, "");
  const distill: Partial<Omit<RunDistillOptions, "mu" | "seed">> = {
    steps: positiveInt("distill-steps", options.distillSteps, d.distillSteps),
    gamma: positiveInt("distill-gamma", options.distillGamma, d.distillGamma),
    tau: positiveNumber("distill-tau", options.distillTau, 10),
    device: parseDeviceRequest(String(options.device)),
    samplingWorkers: 0,
    ...(quick ? { validateEvery: 2 } : {}),
  };
  return {
    data,
    format: String(options.format),
    name,
    quick,
    out: String(options.out),
    replot: Boolean(options.replot),
    json: Boolean(options.json),
    continual: {
      periods: positiveInt("periods", options.periods, d.periods),
      methods: methods as ContinualMethod[],
      budget: positiveInt("budget", options.budget, d.budget),
      vae: {
        hidden: [positiveInt("hidden", options.hidden, d.hidden[0])],
        latent: positiveInt("latent", options.latent, d.latent),
        lr: positiveNumber("lr", options.lr, 1e-3),
        dropout: 0.5,
        betaMax: 0.2,
        epochs: positiveInt("epochs", options.epochs, d.epochs),
        batchSize: positiveInt("batch-size", options.batchSize, d.batchSize),
      },
      aderLambdaBase: positiveNumber("ader-lambda", options.aderLambda, 1),
      distill,
      seed,
    },
    log: options.quiet ? () => {} : (line: string) => process.stderr.write(line + "\n"),
  };
}

export function outputPaths(s: Figure5Settings): { csv: string; json: string; svg: string; png: string } {
  const base = join(s.out, s.quick ? "figure5-quick" : "figure5");
  return { csv: `${base}.csv`, json: `${base}.json`, svg: `${base}.svg`, png: `${base}.png` };
}

/** One CSV line per point; periods 1-based (the model trained on periods 1..p is tested on p + 1). */
export function pointsToCsv(name: string, points: ContinualPoint[]): string {
  const lines = ["dataset,method,trained_through_period,tested_period,HR@10,NDCG@10,evaluated_users,targets,train_rows,replay_rows,ader_lambda,train_seconds,memory_seconds"];
  const num = (x: number): string => String(Number(x.toPrecision(8)));
  for (const p of points) {
    lines.push([name, p.method, p.period + 1, p.period + 2, num(p.metrics["HR@10"]), num(p.metrics["NDCG@10"]), p.metrics.users, p.metrics.targets, p.trainRows, p.replayRows, num(p.aderLambda), num(p.trainSeconds), num(p.memorySeconds)].join(","));
  }
  return lines.join("\n") + "\n";
}

/** Mean of each method's metric over the points (the figure's summary). */
export function methodMeans(points: ContinualPoint[]): Record<string, { "HR@10": number; "NDCG@10": number; points: number }> {
  const out: Record<string, { "HR@10": number; "NDCG@10": number; points: number }> = {};
  for (const p of points) {
    const m = (out[p.method] ??= { "HR@10": 0, "NDCG@10": 0, points: 0 });
    m["HR@10"] += p.metrics["HR@10"];
    m["NDCG@10"] += p.metrics["NDCG@10"];
    m.points++;
  }
  for (const m of Object.values(out)) {
    m["HR@10"] /= m.points;
    m["NDCG@10"] /= m.points;
  }
  return out;
}

interface Figure5Json {
  figure: "figure5";
  quick: boolean;
  dataset: string;
  source: string;
  settings: Omit<ContinualOptions, "distill"> & { distill: Partial<RunDistillOptions> };
  periods: PeriodFacts[];
  seconds: number;
  means: ReturnType<typeof methodMeans>;
  points: ContinualPoint[];
}

async function writeChart(s: Figure5Settings, result: Figure5Json): Promise<void> {
  const rows: ChartRow[] = [];
  for (const p of result.points) {
    for (const metric of ["HR@10", "NDCG@10"] as const) rows.push({ metric, method: METHOD_LABELS[p.method], period: p.period + 2, value: p.metrics[metric] });
  }
  const c = result.settings;
  const svg = await renderSvg(
    lineChartSpec({
      title: `Figure 5: continual learning on ${result.dataset} (Mult-VAE, ${c.periods} periods)`,
      subtitle: `model trained through period p − 1, tested on period p; ADER and DISTILL-CF replay ${c.budget} rows${result.quick ? " (--quick smoke run)" : ""}`,
      rows,
      x: { field: "period", title: "Tested period" },
      y: { field: "value", title: "Metric on the next period (× 100)" },
      series: { field: "method", title: "Method" },
      seriesOrder: c.methods.map((m) => METHOD_LABELS[m]),
      column: { field: "metric", title: "" },
      width: 340,
      height: 240,
    }),
  );
  const paths = outputPaths(s);
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, svgToPng(svg));
}

export async function runFigure5(s: Figure5Settings): Promise<Figure5Json> {
  const paths = outputPaths(s);
  mkdirSync(s.out, { recursive: true });
  if (s.replot) {
    if (!existsSync(paths.json)) throw new Error(`--replot: ${paths.json} does not exist; run figure5 without --replot first`);
    const result = JSON.parse(readFileSync(paths.json, "utf8")) as Figure5Json;
    if (result.figure !== "figure5") throw new Error(`--replot: ${paths.json} is not figure 5's output`);
    await writeChart(s, result);
    return result;
  }
  if (!existsSync(s.data)) {
    throw new Error(`missing data file ${s.data}${s.data === DEFAULT_DATA ? " (MovieLens-100K's u.data is expected in ../shared/data/ml-100k-raw; pass --data FILE, e.g. ML-1M's ratings.dat)" : ""}`);
  }
  const started = performance.now();
  const raw = readInteractions(s.data, { format: s.format as "auto" });
  s.log(`figure5: ${s.data}: ${raw.users.length} interactions, ${raw.userIds.length} users, ${raw.itemIds.length} items → ${s.continual.periods} periods`);
  const facts = periodFacts(raw, s.continual.periods);
  const points: ContinualPoint[] = [];
  const result = (): Figure5Json => ({
    figure: "figure5",
    quick: s.quick,
    dataset: s.name,
    source: basename(dirname(s.data)) + "/" + basename(s.data),
    settings: s.continual,
    periods: facts,
    seconds: (performance.now() - started) / 1000,
    means: methodMeans(points),
    points,
  });
  const save = (): void => {
    writeFileAtomic(paths.json, JSON.stringify(result(), null, 2) + "\n");
    writeFileAtomic(paths.csv, pointsToCsv(s.name, points));
  };
  await runContinual(raw, s.continual, {
    log: s.log,
    onPoint: (p) => {
      points.push(p);
      save();
    },
  });
  const final = result();
  save();
  await writeChart(s, final);
  s.log(`figure5: ${final.seconds.toFixed(0)} s; means over periods: ${Object.entries(final.means).map(([m, v]) => `${m} HR@10 ${v["HR@10"].toFixed(2)} NDCG@10 ${v["NDCG@10"].toFixed(2)}`).join("; ")}`);
  return final;
}

if (isEntry(import.meta, "figure5.ts")) {
  await main(async () => {
    const s = parseFigure5Args();
    if (!s) return;
    const result = await runFigure5(s);
    if (s.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  }, "figure5");
}
