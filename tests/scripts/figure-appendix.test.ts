/**
 * scripts/figure-appendix.ts (the paper's Figures 13–15): built from figure
 * JSONs of real sweeps on a small planted dataset (EASE and ∞-AE, clean and
 * noisy); the CSVs carry every appendix metric, Figure 14's drops are
 * measured against the clean full-data run, and missing inputs are named.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type SampledRun, samplingSweep } from "../../lib/sampling/experiment.ts";
import { noisyDataset } from "../../lib/sampling/noise.ts";
import { HeadUserSampler, UserRandomSampler } from "../../lib/sampling/heuristic.ts";
import { APPENDIX_METRICS, runFigureAppendix } from "../../scripts/figure-appendix.ts";
import { percentDrop } from "../../scripts/figure3.ts";
import { withTempDir } from "../helpers.ts";
import { plantedDataset } from "../models/synthetic.ts";

const clean = plantedDataset(80, 24, 4, 10, 3);
const ease = { name: "ease", grid: [{ lambda: 10 }, { lambda: 100 }] };
const infAe = { name: "inf-ae", grid: [{ lambda: 1, depth: 1 }] };

async function sweep(noise: number[], models: { name: string; grid: Record<string, number>[] }[]): Promise<SampledRun[]> {
  const runs: SampledRun[] = [];
  for (const level of noise) {
    const ds = noisyDataset(clean, level, 42);
    runs.push(...(await samplingSweep({ dataset: ds, datasetLabel: "planted", noise: level, samplers: [new UserRandomSampler(), new HeadUserSampler()], budgets: [10, 40], models })));
  }
  return runs;
}

const csvRows = (path: string) => {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split("\n");
  const names = header.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i], v])));
};

test("figure-appendix: Figures 13–15 from figure 1, 3 and 4 JSONs, every appendix metric, drops against the clean full run", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(runFigureAppendix({ figures: dir }), /no figure1\/3\/4\.json in/);
    const fig1 = await sweep([0], [infAe]);
    const fig3 = await sweep([0, 5], [ease]);
    writeFileSync(join(dir, "figure1.json"), JSON.stringify({ figure: "figure1", runs: fig1 }));
    writeFileSync(join(dir, "figure3.json"), JSON.stringify({ figure: "figure3", runs: fig3 }));
    const lines: string[] = [];
    const written = await runFigureAppendix({ figures: dir, out: join(dir, "out"), log: (l) => lines.push(l) });
    assert.deepEqual(written, ["figure13", "figure14"]);
    assert.ok(lines.some((l) => /figure4\.json not found; figure15 skipped/.test(l)));
    for (const f of ["figure13", "figure14"]) for (const ext of ["csv", "svg", "png"]) assert.ok(existsSync(join(dir, "out", `${f}.${ext}`)), `${f}.${ext}`);
    assert.match(readFileSync(join(dir, "out", "figure13.svg"), "utf8"), /Figure 13: ∞-AE trained on sampled users/);

    const f13 = csvRows(join(dir, "out", "figure13.csv"));
    assert.equal(f13.length, fig1.length * APPENDIX_METRICS.length);
    const headAuc = f13.find((r) => r.sampler === "Head user" && r.users === "40" && r.metric === "AUC")!;
    const headRun = fig1.find((r) => r.sampler === "head-user" && r.budgetUsers === 40)!;
    assert.ok(Math.abs(Number(headAuc.value) - headRun.metrics.AUC) < 1e-6);

    const f14 = csvRows(join(dir, "out", "figure14.csv"));
    const reference = fig3.find((r) => r.noise === 0 && r.sampler === "full")!.metrics;
    for (const run of fig3) {
      for (const metric of APPENDIX_METRICS) {
        const row = f14.find((r) => r.noise === `${run.noise}% noise` && r.metric === metric && r.users === String(run.budgetUsers) && r.kind === (run.sampler === "full" ? "reference" : "sample") && (run.sampler === "full" || r.sampler === (run.sampler === "user-random" ? "User RNS" : "Head user")))!;
        assert.ok(Math.abs(Number(row.drop) - percentDrop(reference[metric], run.metrics[metric])) < 1e-4, `${run.sampler} ${run.noise}% ${metric}`);
      }
    }
    assert.equal(Number(f14.find((r) => r.noise === "0% noise" && r.kind === "reference" && r.metric === "NDCG@100")!.drop), 0);

    // Figure 14 needs the clean full-data run to measure drops against (figure3 --quick has only 2% noise).
    writeFileSync(join(dir, "figure3.json"), JSON.stringify({ figure: "figure3", runs: fig3.filter((r) => r.noise !== 0) }));
    lines.length = 0;
    assert.deepEqual(await runFigureAppendix({ figures: dir, out: join(dir, "out"), log: (l) => lines.push(l) }), ["figure13"]);
    assert.ok(lines.some((l) => /no clean full-data run for planted to measure drops against .*; figure14 skipped/.test(l)), lines.join("\n"));
    writeFileSync(join(dir, "figure3.json"), JSON.stringify({ figure: "figure1", runs: fig3 }));
    await assert.rejects(runFigureAppendix({ figures: dir, out: join(dir, "out") }), /is not the output of figure3\.ts/);
  });
});

test("figure-appendix --quick: figure4-quick.json → figure15-quick.*, both models with a dash each", async () => {
  await withTempDir(async (dir) => {
    const fig4 = await sweep([0, 5], [infAe, ease]);
    writeFileSync(join(dir, "figure4-quick.json"), JSON.stringify({ figure: "figure4", quick: true, runs: fig4 }));
    assert.deepEqual(await runFigureAppendix({ figures: dir, quick: true }), ["figure15"]);
    const f15 = csvRows(join(dir, "figure15-quick.csv"));
    assert.equal(f15.length, fig4.length * APPENDIX_METRICS.length);
    assert.deepEqual([...new Set(f15.map((r) => r.model))].sort(), ["EASE", "∞-AE"]);
    assert.ok(f15.some((r) => r.sampler === "Full data (EASE)") && f15.some((r) => r.sampler === "Full data (∞-AE)"));
    assert.match(readFileSync(join(dir, "figure15-quick.svg"), "utf8"), /--quick smoke run/);
  });
});
