/**
 * The cost of one fit of each beyond-the-paper model (scripts/table-beyond.ts)
 * at the hyper-parameters that table picked on validation: no tuning here, and
 * only the training split is fitted on (nothing is evaluated). Each fit runs in
 * a fresh child process, so that its peak RSS is that model's alone: the child
 * reads the training matrix (written by this process as raw CSR arrays: under
 * tsx, loading the HDF5 file through h5wasm leaves ~600 MB of transient
 * resident memory that a fit would partly reuse) and starts ONNX Runtime,
 * timed apart and not in the fit; it records its resident set, times `fit`
 * once and reads the process's peak RSS (process.resourceUsage().maxRSS). The
 * load average is recorded at the start and the end: fits on a loaded machine
 * are slower, not wrong.
 *
 *   npx tsx bench/beyond-fit.ts [--dataset ml-1m] [--table docs/tables/table-beyond.json]
 *     [--models ease,inf-ae,…] [--quick] [--out FILE] [--write-table] [--note TEXT] [--json]
 *
 * `--quick`: the bundled Magazine and three models (EASE, ∞-AE, GF-CF), a smoke
 * run. `--out FILE` writes FILE.json and FILE.md; `--write-table` puts each
 * fit into the cells of the --table (and rewrites its .md and .csv beside it)
 * whose dataset, model and pick it measured, rows picked on another validation
 * metric included when their pick is the same.
 */
import { cac } from "cac";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InteractionMatrix } from "../lib/data/matrix.ts";
import { loadDataset, REPO_ROOT } from "../lib/data/registry.ts";
import type { HyperParameters } from "../lib/models/model.ts";
import { type DatasetSize, datasetSize, modelEntry, type ModelParams } from "../lib/models/registry.ts";
import { FitScratch } from "../lib/models/scratch.ts";
import { getBackend } from "../lib/onnx/backend.ts";
import { type BeyondCell, type FitCost, readCells, writeTable } from "../scripts/table-beyond.ts";

/** The models of --quick (on Magazine): the item Gram, the user kernel and a truncated SVD. */
export const QUICK_MODELS = ["ease", "inf-ae", "gf-cf"];

/** One model to fit: its table cell(s) and the hyper-parameters they picked. */
export interface FitTarget {
  model: string;
  hyperParameters: HyperParameters;
  /** Labels of the table rows with this pick, e.g. "blend", "blend (validation NDCG@10)". */
  rows: string[];
}

/** What a child reports about its one fit. */
export interface ChildResult {
  model: string;
  hyperParameters: HyperParameters;
  /** The fitted model's own hyperParameters(): equal to the table's pick, or the fit is not that row's. */
  fitted: HyperParameters;
  loadSeconds: number;
  fitSeconds: number;
  /** Resident set (MiB) after loading the data and starting ONNX Runtime, garbage collected. */
  dataRssMb: number;
  /** The process's peak resident set (MiB) before the fit (loading's high-water mark). */
  loadPeakRssMb: number;
  /** The process's peak resident set (MiB) after the fit. */
  peakRssMb: number;
  ortThreads: number;
  /** 1-minute load average when the fit began. */
  loadAverage: number;
}

export interface FitReport {
  dataset: string;
  users: number;
  items: number;
  table: string;
  machine: string;
  node: string;
  /** The commit measured, and the files under lib/ that differed from it (uncommitted) at the start. */
  commit: string;
  libChanges: string[];
  /** 1-minute, 5-minute, 15-minute load averages at the start and the end of the run. */
  loadAverage: { start: number[]; end: number[] };
  startedAt: string;
  seconds: number;
  note?: string;
  fits: (ChildResult & { rows: string[] })[];
}

const label = (c: BeyondCell): string => `${c.model}${c.selectedBy ? ` (validation ${c.selectedBy})` : ""}`;
const same = (a: HyperParameters, b: HyperParameters): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The fits to run for a dataset: one per (model, pick) among the cells trained
 * on full data, in the table's order; rows picked on another metric with the
 * same pick share their model's fit.
 */
export function fitTargets(cells: readonly BeyondCell[], dataset: string, models?: readonly string[]): FitTarget[] {
  const targets: FitTarget[] = [];
  for (const c of cells) {
    if (c.dataset !== dataset || c.trainedOn !== "full" || (models && !models.includes(c.model))) continue;
    const t = targets.find((x) => x.model === c.model && same(x.hyperParameters, c.hyperParameters));
    if (t) t.rows.push(label(c));
    else targets.push({ model: c.model, hyperParameters: c.hyperParameters, rows: [label(c)] });
  }
  const missing = (models ?? []).filter((m) => !targets.some((t) => t.model === m));
  if (missing.length > 0) throw new Error(`no ${dataset} row trained on full data for ${missing.join(", ")} in the table`);
  if (targets.length === 0) throw new Error(`the table has no ${dataset} rows trained on full data`);
  return targets;
}

/** The table's cells with each measured fit attached to the rows it measured. */
export function attachFits(cells: readonly BeyondCell[], report: FitReport): BeyondCell[] {
  return cells.map((c) => {
    const f = report.fits.find((x) => c.dataset === report.dataset && c.trainedOn === "full" && x.rows.includes(label(c)) && same(x.hyperParameters, c.hyperParameters));
    if (!f) return c;
    const fit: FitCost = {
      seconds: f.fitSeconds, peakRssMb: f.peakRssMb, dataRssMb: f.dataRssMb, machine: report.machine,
      loadAverage: [report.loadAverage.start[0], report.loadAverage.end[0]], measuredAt: report.startedAt,
    };
    return { ...c, fit };
  });
}

/** The report as Markdown: a row per fit, its memory beside EASE's where EASE was measured. */
export function fitMarkdown(r: FitReport): string {
  const ease = r.fits.find((f) => f.model === "ease");
  const own = (f: ChildResult) => f.peakRssMb - f.dataRssMb;
  const out = [
    `# One fit per model at the table's pick: ${r.dataset} (${r.users} users × ${r.items} items)`, "",
    `${r.machine}; ${r.node}. Load average (1, 5, 15 min) ${r.loadAverage.start.map((x) => x.toFixed(2)).join(", ")} at the start, ` +
      `${r.loadAverage.end.map((x) => x.toFixed(2)).join(", ")} at the end; ${r.seconds.toFixed(0)} s in all. ` +
      `Code: ${r.commit}${r.libChanges.length > 0 ? ` with uncommitted changes to ${r.libChanges.join(", ")}` : ""}.${r.note ? ` ${r.note}` : ""}`, "",
    "Each fit runs in a fresh process: read the training matrix and start ONNX Runtime (*load s*, not in the fit), then `fit` once (*fit s*). " +
      "*data MB*: resident set after that; *peak MB*: the process's peak resident set; *fit's own MB*: peak − data" +
      (ease ? "; *× EASE*: fit's own MB over EASE's." : "."), "",
    `| model | rows | picked | load s | fit s | data MB | peak MB | fit's own MB |${ease ? " × EASE |" : ""} load avg |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |${ease ? " --- |" : ""} --- |`,
  ];
  for (const f of r.fits) {
    const ratio = ease ? ` ${(own(f) / own(ease)).toFixed(2)} |` : "";
    out.push(`| ${f.model} | ${f.rows.join("; ")} | ${JSON.stringify(f.hyperParameters)} | ${f.loadSeconds.toFixed(1)} | ${f.fitSeconds.toFixed(2)} | ${f.dataRssMb.toFixed(0)} | ${f.peakRssMb.toFixed(0)} | ${own(f).toFixed(0)} |${ratio} ${f.loadAverage.toFixed(2)} |`);
  }
  return out.join("\n") + "\n";
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;
/** maxRSS is in KiB on Linux and macOS. */
const peakMb = () => process.resourceUsage().maxRSS / 1024;

/** A training matrix as one file: a JSON header line, then indptr, indices and values. */
export function writeMatrix(path: string, m: InteractionMatrix): void {
  const head = Buffer.from(JSON.stringify({ numUsers: m.numUsers, numItems: m.numItems, nnz: m.nnz }) + "\n");
  const bytes = (a: Int32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path, Buffer.concat([head, bytes(m.indptr), bytes(m.indices), bytes(m.values)]));
}

export function readMatrix(path: string): InteractionMatrix {
  const buf = readFileSync(path);
  const nl = buf.indexOf(10);
  const { numUsers, numItems, nnz } = JSON.parse(buf.subarray(0, nl).toString("utf8")) as { numUsers: number; numItems: number; nnz: number };
  const body = buf.subarray(nl + 1);
  const take = (from: number, n: number) => body.buffer.slice(body.byteOffset + from, body.byteOffset + from + 4 * n);
  return new InteractionMatrix(numUsers, numItems, new Int32Array(take(0, numUsers + 1)), new Int32Array(take(4 * (numUsers + 1), nnz)), new Float32Array(take(4 * (numUsers + 1 + nnz), nnz)));
}

interface ChildSpec {
  model: string;
  hyperParameters: ModelParams;
  /** The training matrix (writeMatrix). */
  matrix: string;
  size: DatasetSize;
}

/** The child: read the training matrix, start ORT, fit once, report on stdout. */
async function child(spec: ChildSpec): Promise<ChildResult> {
  const t0 = performance.now();
  const train = readMatrix(spec.matrix);
  const backend = await getBackend({ device: "cpu" });
  const loadSeconds = (performance.now() - t0) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const dataRssMb = rssMb();
  const loadPeakRssMb = peakMb();
  const scratch = new FitScratch();
  const model = modelEntry(spec.model).build(spec.hyperParameters, { backend, scratch, grid: [spec.hyperParameters], size: spec.size });
  const loadAverage = loadavg()[0];
  const t1 = performance.now();
  await model.fit(train);
  const fitSeconds = (performance.now() - t1) / 1000;
  const peakRssMb = peakMb();
  const fitted = model.hyperParameters();
  scratch.clear();
  await model.dispose?.();
  return { model: spec.model, hyperParameters: spec.hyperParameters, fitted, loadSeconds, fitSeconds, dataRssMb, loadPeakRssMb, peakRssMb, ortThreads: backend.threads, loadAverage };
}

/** Runs this file as a child for one fit; its last stdout line is the JSON result. */
function runChild(spec: ChildSpec): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, "--expose-gc", self, "--child", JSON.stringify(spec)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b) => (stdout += b));
    p.stderr.on("data", (b) => (stderr += b));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`fit of ${JSON.stringify(spec)} exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
      resolve(JSON.parse(stdout.trim().split("\n").pop()!) as ChildResult);
    });
  });
}

export function machine(threads: number): string {
  const c = cpus();
  return `${c[0]?.model.trim() ?? "unknown CPU"}, ${c.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ORT CPU ${threads} thread${threads > 1 ? "s" : ""}`;
}

/** HEAD and the uncommitted changes under lib/ (the code a fit runs), where git is there. */
function codeVersion(): { commit: string; libChanges: string[] } {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return { commit: "unknown", libChanges: [] };
  const status = git("status", "--porcelain", "--", "lib");
  return { commit: head.stdout.trim(), libChanges: status.stdout.split("\n").filter(Boolean).map((l) => l.slice(3)) };
}

export interface BenchOptions {
  dataset: string;
  table: string;
  models?: string[];
  dataDir?: string;
  note?: string;
  log?: (line: string) => void;
}

export async function runBench(o: BenchOptions): Promise<FitReport> {
  const cells = readCells(o.table);
  if (cells.length === 0) throw new Error(`${o.table}: no table cells`);
  const targets = fitTargets(cells, o.dataset, o.models);
  const startedAt = new Date().toISOString();
  const version = codeVersion();
  const start = loadavg();
  const t0 = performance.now();
  const ds = await loadDataset(o.dataset, { dataDir: o.dataDir });
  const dir = mkdtempSync(join(tmpdir(), "beyond-fit-"));
  const fits: FitReport["fits"] = [];
  try {
    const matrix = join(dir, "train.csr");
    writeMatrix(matrix, ds.train);
    for (const t of targets) {
      o.log?.(`${o.dataset} / ${t.model} ${JSON.stringify(t.hyperParameters)} …`);
      const r = await runChild({ model: t.model, hyperParameters: t.hyperParameters, matrix, size: datasetSize(ds) });
      if (!same(r.fitted, t.hyperParameters)) throw new Error(`${t.model}: the fitted model reports ${JSON.stringify(r.fitted)}, the table picked ${JSON.stringify(t.hyperParameters)}`);
      o.log?.(`  fit ${r.fitSeconds.toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB (after the data ${r.dataRssMb.toFixed(0)} MB)`);
      fits.push({ ...r, rows: t.rows });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    dataset: o.dataset, users: ds.train.numUsers, items: ds.train.numItems, table: o.table,
    machine: machine(fits[0].ortThreads), node: `Node ${process.version}`, ...version,
    loadAverage: { start, end: loadavg() }, startedAt, seconds: (performance.now() - t0) / 1000,
    ...(o.note ? { note: o.note } : {}), fits,
  };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
  const cli = cac("beyond-fit");
  cli
    .option("--dataset <name>", "Dataset whose table rows to fit", { default: "ml-1m" })
    .option("--table <file>", "table-beyond.json with the picks", { default: join(REPO_ROOT, "docs", "tables", "table-beyond.json") })
    .option("--models <list>", "Comma-separated models (default: every row trained on full data)")
    .option("--quick", `Magazine and ${QUICK_MODELS.join(", ")} (a smoke run)`)
    .option("--out <file>", "Write FILE.json and FILE.md")
    .option("--write-table", "Put the fits into the --table's cells and rewrite its .md and .csv")
    .option("--note <text>", "A sentence for the report (e.g. what else ran)")
    .option("--data-dir <dir>", "Dataset folder")
    .option("--child <json>", "(internal) one fit in this process")
    .option("--json", "Print the report as JSON on stdout")
    .help();
  const { options } = cli.parse();
  try {
    if (options.child) {
      console.log(JSON.stringify(await child(JSON.parse(String(options.child)))));
    } else if (!options.help) {
      const quick = Boolean(options.quick);
      if (options.writeTable && basename(String(options.table)) !== "table-beyond.json") throw new Error(`--write-table rewrites table-beyond.{json,csv,md}: --table must name a table-beyond.json, got ${options.table}`);
      const report = await runBench({
        dataset: quick && options.dataset === "ml-1m" ? "magazine" : String(options.dataset),
        table: String(options.table),
        models: options.models ? String(options.models).split(",").filter(Boolean) : quick ? QUICK_MODELS : undefined,
        dataDir: options.dataDir,
        note: options.note,
        log: (line) => process.stderr.write(line + "\n"),
      });
      if (options.out) {
        mkdirSync(dirname(String(options.out)), { recursive: true });
        writeFileSync(`${options.out}.json`, JSON.stringify(report, null, 2) + "\n");
        writeFileSync(`${options.out}.md`, fitMarkdown(report));
      }
      if (options.writeTable) writeTable(dirname(String(options.table)), attachFits(readCells(String(options.table)), report));
      console.log(options.json ? JSON.stringify(report, null, 2) : fitMarkdown(report));
    }
  } catch (e) {
    console.error(`beyond-fit: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
