/**
 * Seconds per training epoch, seconds to score + rank the validation split, and
 * peak RSS of each finite-width baseline on one dataset (default ML-1M), with
 * the first candidate of each model's grid trained for `--epochs` epochs.
 * Each model runs in its own child process so its peak RSS is its own.
 *
 *   npx tsx bench/baselines.ts [--dataset ml-1m] [--models mf,multvae] [--epochs 1] [--out results/bench-baselines.md]
 */
import { execFileSync } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPaperDataset } from "../lib/data/paper.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { BASELINE_NAMES, type BaselineName, baselineGrid, buildBaseline } from "../lib/models/grids.ts";
import type { TrainSummary } from "../lib/models/nn/training.ts";

interface BenchRow {
  model: string;
  config: unknown;
  epochs: number;
  secondsPerEpoch: number;
  validationSeconds: number;
  validationHR100: number;
  peakRssMiB: number;
}

function flag(argv: string[], name: string, fallback: string): string {
  const k = argv.indexOf(name);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : fallback;
}

async function child(model: BaselineName, dataset: string, dataDir: string, epochs: number): Promise<BenchRow> {
  const ds = await loadPaperDataset(join(dataDir, dataset), { name: dataset });
  const size = ds.train.numUsers * ds.train.numItems > 5e6 ? "large" : "small";
  const config = { ...baselineGrid(model, { size })[0], epochs };
  const m = buildBaseline(model, config as never);
  await m.fit(ds.train, { seed: 42 });
  const summary = (m as unknown as { summary: TrainSummary }).summary;
  const t = performance.now();
  const r = await evaluate(m, ds, { split: "validation", aucNegatives: 0 });
  return {
    model, config, epochs,
    secondsPerEpoch: summary.history.reduce((s, h) => s + h.seconds, 0) / summary.history.length,
    validationSeconds: (performance.now() - t) / 1000,
    validationHR100: r.metrics["HR@100"],
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dataset = flag(argv, "--dataset", "ml-1m");
  const dataDir = flag(argv, "--data-dir", "/work/shared/data");
  const epochs = Number(flag(argv, "--epochs", "1"));
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`--epochs must be a positive integer`);
  const only = flag(argv, "--child", "");
  if (only) {
    console.log(JSON.stringify(await child(only as BaselineName, dataset, dataDir, epochs)));
    return;
  }
  const models = flag(argv, "--models", BASELINE_NAMES.join(",")).split(",");
  for (const m of models) if (!(BASELINE_NAMES as readonly string[]).includes(m)) throw new Error(`unknown model '${m}'`);
  const rows: BenchRow[] = [];
  for (const m of models) {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], "--child", m, "--dataset", dataset, "--data-dir", dataDir, "--epochs", String(epochs)], {
      encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
    });
    const row = JSON.parse(out.trim().split("\n").pop()!) as BenchRow;
    rows.push(row);
    console.log(`${m}: ${row.secondsPerEpoch.toFixed(1)} s/epoch, validation ${row.validationSeconds.toFixed(1)} s, peak RSS ${row.peakRssMiB.toFixed(0)} MiB`);
  }
  const md = [
    `# Baselines on ${dataset}: time per epoch and peak RSS`,
    "",
    `${epochs} epoch(s) of each model's first grid candidate; one child process per model. Machine: 2 shared CPU cores.`,
    "",
    "| model | s / epoch | validation scoring s | peak RSS MiB | val HR@100 after the run | config |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.model} | ${r.secondsPerEpoch.toFixed(1)} | ${r.validationSeconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.validationHR100.toFixed(2)} | \`${JSON.stringify(r.config)}\` |`),
    "",
  ].join("\n");
  const outPath = flag(argv, "--out", "");
  if (outPath) {
    writeFileSync(`${outPath}.tmp`, md);
    renameSync(`${outPath}.tmp`, outPath);
  }
  console.log(md);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
