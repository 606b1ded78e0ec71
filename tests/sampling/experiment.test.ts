/**
 * The sampling sweep behind Figures 1–4 (lib/sampling/experiment.ts) on a
 * small planted dataset, and the figure scripts' shared flag parsing and CSV
 * (scripts/figures-common.ts).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { EASE } from "../../lib/models/ease/model.ts";
import { fitOnSample, runKey, samplingSweep } from "../../lib/sampling/experiment.ts";
import { HeadUserSampler, InteractionRandomSampler, UserRandomSampler } from "../../lib/sampling/heuristic.ts";
import { runUserSweepFigure } from "../../scripts/figure1.ts";
import { budgetsFor, distillSettingsKey, parseFigureArgs, runsToCsv, samplerBudgets } from "../../scripts/figures-common.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(80, 24, 4, 10, 3);
const ease = { name: "ease", grid: [{ lambda: 10 }, { lambda: 100 }] };

test("sweep: a full-data point, then every (sampler, budget); budgets above the users are skipped", async () => {
  const lines: string[] = [];
  const runs = await samplingSweep({
    dataset: ds,
    samplers: [new UserRandomSampler(), new InteractionRandomSampler()],
    budgets: [10, 40, 500],
    models: [ease],
    log: (l) => lines.push(l),
  });
  assert.deepEqual(runs.map((r) => `${r.sampler}:${r.budgetUsers}`), ["full:80", "user-random:10", "user-random:40", "interaction-random:10", "interaction-random:40"]);
  assert.equal(lines.filter((l) => /budget 500 exceeds the 80 users/.test(l)).length, 2);
  const full = runs[0];
  assert.equal(full.trainRows, 80);
  assert.equal(full.keptInteractions, ds.train.nnz);
  assert.equal(runs[1].trainRows, 10);
  assert.equal(runs[3].keptInteractions, Math.round((10 / 80) * ds.train.nnz));
  for (const r of runs) {
    assert.ok(r.metrics["HR@10"] >= 0 && r.metrics["HR@10"] <= 100);
    assert.ok([10, 100].includes(Number(r.hyperParameters.lambda)));
  }
  // The full point equals a plain EASE fit at the picked λ, evaluated on the test split.
  const m = new EASE({ lambda: Number(full.hyperParameters.lambda) });
  await m.fit(ds.train);
  const direct = await evaluate(m, ds, { split: "test" });
  assert.ok(Math.abs(direct.metrics["HR@10"] - full.metrics["HR@10"]) < 1e-9);
  // More head users never hurt much on planted clusters: the 40-user sample beats chance.
  const head = await fitOnSample(ds, (await new HeadUserSampler().sample(ds.train, { users: 40 }, 1)).train, ease);
  assert.ok(head.metrics["HR@10"] > 30, `HR@10 ${head.metrics["HR@10"]}`);
});

test("sweep: per-sampler budgets replace the common ones for that sampler only", async () => {
  const runs = await samplingSweep({
    dataset: ds,
    samplers: [new UserRandomSampler(), new HeadUserSampler()],
    budgets: [10, 40],
    samplerBudgets: { "head-user": [20] },
    models: [ease],
    full: false,
  });
  assert.deepEqual(runs.map((r) => `${r.sampler}:${r.budgetUsers}:${r.trainRows}`), ["user-random:10:10", "user-random:40:40", "head-user:20:20"]);
});

test("figure flags: --quick defaults, explicit lists, and errors naming the flag", () => {
  const argv = (...a: string[]) => ["node", "figure", ...a];
  const defaults = { datasets: ["ml-1m"], samplers: ["user-random" as const, "head-user" as const], noise: [0, 1, 2, 5], quickSamplers: ["user-random" as const], quickNoise: [2] };
  const quick = parseFigureArgs("figureX", defaults, argv("--quick", "--quiet"))!;
  assert.deepEqual([quick.datasets, quick.samplerNames, quick.budgets, quick.noise], [["magazine"], ["user-random"], [50, 200], [2]]);
  assert.equal(quick.distill.steps, 26);
  const full = parseFigureArgs("figureX", defaults, argv("--datasets", "a,b", "--budgets", "5,10", "--noise", "0,5", "--distill-steps", "1000", "--quiet"))!;
  assert.deepEqual([full.datasets, full.samplerNames, full.budgets, full.noise, full.distill.steps], [["a", "b"], ["user-random", "head-user"], [5, 10], [0, 5], 1000]);
  assert.equal(full.distillBudgets, null);
  assert.equal(samplerBudgets(full), undefined);
  const narrowed = parseFigureArgs("figureX", defaults, argv("--budgets", "5,10,50", "--distill-budgets", "5", "--quiet"))!;
  assert.deepEqual(samplerBudgets(narrowed), { "distill-cf": [5] });
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--distill-budgets", "0")), /--distill-budgets: '0' is not a positive integer/);
  const dflt = parseFigureArgs("figureX", defaults, argv("--quiet"))!;
  assert.deepEqual(budgetsFor(dflt, 3092), [25, 50, 100, 200, 500, 1000, 2000]);
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--samplers", "coreset")), /--samplers: unknown sampler 'coreset'/);
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--budgets", "10,x")), /--budgets: 'x' is not a positive integer/);
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--noise", "200")), /--noise: '200' is not a percentage/);
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--distill-tau", "0")), /--distill-tau must be a number > 0/);
  assert.equal(dflt.distill.innerPrecision, "float32");
  assert.equal(parseFigureArgs("figureX", defaults, argv("--distill-inner-precision", "float64", "--quiet"))!.distill.innerPrecision, "float64");
  assert.throws(() => parseFigureArgs("figureX", defaults, argv("--distill-inner-precision", "half")), /--distill-inner-precision must be float32 or float64, got 'half'/);
});

test("DISTILL-CF settings compare across versions: a JSON without innerPrecision was made with float64", () => {
  const old = { steps: 150, device: "cpu" };
  assert.equal(distillSettingsKey(old), distillSettingsKey({ device: "cpu", innerPrecision: "float64", steps: 150 }));
  assert.notEqual(distillSettingsKey(old), distillSettingsKey({ steps: 150, device: "cpu", innerPrecision: "float32" }));
  assert.notEqual(distillSettingsKey(old), distillSettingsKey({ steps: 100, device: "cpu", innerPrecision: "float64" }));
});

test("runs → CSV: one line per run, metrics in the paper's order, quoted hyper-parameters", () => {
  const csv = runsToCsv(
    [{ dataset: "d", noise: 2, sampler: "user-random", budgetUsers: 10, trainRows: 10, keptInteractions: 55, model: "ease", hyperParameters: { lambda: 10 }, metrics: { "PSP@10": 1.5, "HR@10": 20.123456789, AUC: 0.9 }, validationScore: 30, sampleSeconds: 0.5, fitSeconds: 1 }],
    (r) => ({ extra: r.trainRows * 2 }),
  );
  const [header, line] = csv.trim().split("\n");
  assert.equal(header, "dataset,noise_pct,sampler,budget_users,train_rows,kept_interactions,model,hyper_parameters,AUC,HR@10,PSP@10,validation_score,extra,sample_seconds,fit_seconds");
  assert.equal(line, 'd,2,user-random,10,10,55,ease,"{""lambda"":10}",0.9,20.123457,1.5,30,20,0.5,1');
});

test("--replot redraws the chart from an earlier run's JSON, leaves the JSON alone, and names what is missing", async () => {
  const out = mkdtempSync(join(tmpdir(), "infrec-replot-"));
  const argv = (...a: string[]) => ["node", "figure1", "--out", out, "--quiet", ...a];
  const defaults = { datasets: ["planted"], samplers: ["user-random" as const, "head-user" as const], quickSamplers: ["user-random" as const] };
  const noJson = parseFigureArgs("figure1", defaults, argv("--replot"))!;
  await assert.rejects(runUserSweepFigure(noJson, "ease", "t"), /--replot: .*figure1\.json does not exist/);
  const runs = await samplingSweep({ dataset: ds, datasetLabel: "planted", samplers: [new UserRandomSampler(), new HeadUserSampler()], budgets: [10, 40], models: [ease] });
  const json = JSON.stringify({ figure: "figure1", runs }) + "\n";
  writeFileSync(join(out, "figure1.json"), json);
  const ctx = parseFigureArgs("figure1", defaults, argv("--replot"))!;
  const replotted = await runUserSweepFigure(ctx, "ease", "Replot test");
  assert.equal(replotted.length, runs.length);
  assert.equal(readFileSync(join(out, "figure1.json"), "utf8"), json);
  assert.ok(readFileSync(join(out, "figure1.svg"), "utf8").includes("Replot test"));
  assert.ok(existsSync(join(out, "figure1.png")));
  const other = parseFigureArgs("figure1", defaults, argv("--replot", "--datasets", "planted,ml-1m"))!;
  await assert.rejects(runUserSweepFigure(other, "ease", "t"), /has no runs for ml-1m \(it has planted\)/);
  writeFileSync(join(out, "figure1.json"), "{");
  await assert.rejects(runUserSweepFigure(ctx, "ease", "t"), /is not valid JSON/);
});

test("reuse: finished points are taken as they are; only the missing ones are sampled and fitted", async () => {
  const first = await samplingSweep({ dataset: ds, samplers: [new UserRandomSampler()], budgets: [10], models: [ease] });
  const reuse = new Map(first.map((r) => [runKey(r), r] as const));
  let sampled = 0;
  const counting = new UserRandomSampler();
  const sample = counting.sample.bind(counting);
  counting.sample = (...a) => (sampled++, sample(...a));
  const lines: string[] = [];
  const runs = await samplingSweep({ dataset: ds, samplers: [counting], budgets: [10, 40], models: [ease], reuse, log: (l) => lines.push(l) });
  assert.deepEqual(runs.map((r) => `${r.sampler}:${r.budgetUsers}`), ["full:80", "user-random:10", "user-random:40"]);
  assert.equal(runs[0], first[0]);
  assert.equal(runs[1], first[1]);
  assert.equal(sampled, 1, "only the 40-user point is sampled");
  assert.equal(lines.filter((l) => l.endsWith("(reused)")).length, 2);
});

test("--resume / --reuse read points from figure JSONs made with the same settings, and refuse others", () => {
  const out = mkdtempSync(join(tmpdir(), "infrec-reuse-"));
  const defaults = { datasets: ["planted"], samplers: ["user-random" as const], quickSamplers: ["user-random" as const] };
  const argv = (...a: string[]) => ["node", "figure3", "--out", out, "--quiet", ...a];
  const run = { dataset: "planted", noise: 2, sampler: "user-random", budgetUsers: 10, model: "ease", metrics: { "HR@10": 1 } };
  const file = join(out, "figure3.json");
  writeFileSync(file, JSON.stringify({ figure: "figure3", quick: false, settings: { seed: 42, distill: { device: "cpu" } }, runs: [run] }));
  assert.equal(parseFigureArgs("figure3", defaults, argv())!.reuse.size, 0);
  const resumed = parseFigureArgs("figure3", defaults, argv("--resume"))!;
  assert.deepEqual(resumed.reuse.get(runKey(run as never)), run);
  assert.equal(parseFigureArgs("figure3", defaults, argv("--reuse", file))!.reuse.size, 1);
  assert.throws(() => parseFigureArgs("figure3", defaults, argv("--reuse", file, "--seed", "7")), /made with other settings \(seed 42 ≠ 7\)/);
  // Other DISTILL-CF settings: every point but DISTILL-CF's is still good.
  const distilled = { ...run, sampler: "distill-cf" };
  writeFileSync(file, JSON.stringify({ figure: "figure3", quick: false, settings: { seed: 42, distill: { device: "cpu" } }, runs: [run, distilled] }));
  // A JSON without innerPrecision was made with float64 inner products: reused as such, not for the float32 default.
  assert.equal(parseFigureArgs("figure3", defaults, argv("--reuse", file, "--distill-inner-precision", "float64"))!.reuse.size, 2);
  assert.deepEqual([...parseFigureArgs("figure3", defaults, argv("--reuse", file))!.reuse.values()], [run]);
  const otherDistill = parseFigureArgs("figure3", defaults, argv("--reuse", file, "--distill-steps", "10"))!;
  assert.deepEqual([...otherDistill.reuse.values()], [run]);
  assert.throws(() => parseFigureArgs("figure3", defaults, argv("--reuse", join(out, "nope.json"))), /nope\.json does not exist/);
});
