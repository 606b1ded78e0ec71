/**
 * The evaluation options of `evaluate` and `fit` (lib/cli/eval-options.ts):
 * parsing and checks at library level, then a few in-process runs of the CLI
 * (runCli, no process start-up) on the embedded Magazine data.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { format } from "node:util";
import {
  checkSelectionMetric, flagsNotForSavedModels, logLines, metricsTable, parseEvalFlags, parseMetricsFlag, parseSeedFlag, resolveGrid, RunRecorder,
} from "../../lib/cli/eval-options.ts";
import { runCli } from "../../lib/cli/main.ts";
import { setRawArgv } from "../../lib/cli/common.ts";
import { METRIC_FAMILIES } from "../../lib/eval/evaluate.ts";
import { MODELS } from "../../lib/models/registry.ts";
import { lcg, withTempDir } from "../helpers.ts";

/** Runs the CLI in this process; stdout lines (console.log) and stderr text come back. */
async function infrec(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write;
  console.log = (...a: unknown[]) => void out.push(format(...a));
  console.error = (...a: unknown[]) => void err.push(format(...a));
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await runCli(args);
    return { code, stdout: out.join("\n"), stderr: err.join("") };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

test("--metrics: all, paper or a list, any case, in report order; unknown names are listed", () => {
  assert.deepEqual(parseMetricsFlag(undefined), [...METRIC_FAMILIES]);
  assert.deepEqual(parseMetricsFlag("paper"), ["AUC", "HR", "NDCG", "PSP"]);
  assert.deepEqual(parseMetricsFlag("mrr, recall,HR"), ["HR", "Recall", "MRR"]);
  assert.throws(() => parseMetricsFlag("hr,f1"), /--metrics: unknown metric 'f1' \(all, paper, AUC, HR/);
  assert.throws(() => parseMetricsFlag(","), /name at least one metric/);
});

test("--seed and --metric are checked before any work", () => {
  assert.equal(parseSeedFlag(7), 7);
  assert.equal(parseSeedFlag(undefined), 42);
  assert.throws(() => parseSeedFlag(1.5 as never), /--seed must be an integer in \[0, 2\^32\), got '1.5'/);
  assert.equal(checkSelectionMetric("ndcg@10"), "NDCG@10");
  assert.equal(checkSelectionMetric("AUC"), "AUC");
  assert.throws(() => checkSelectionMetric("HR@20"), /--metric must be AUC or one of HR, NDCG.* at @10 or @100 .*got 'HR@20'/);
  assert.throws(() => checkSelectionMetric("F1@10"), /--metric must be/);
});

test("parseEvalFlags: ties, psp, --per-user extension and folder, --run-dir created, --lambdas with --grid", () => {
  withTempDir((dir) => {
    setRawArgv([]);
    assert.throws(() => parseEvalFlags({ ties: "first" }), /--ties must be 'index' or 'random', got 'first'/);
    assert.throws(() => parseEvalFlags({ psp: "exact" }), /--psp must be 'official' or 'textbook'/);
    assert.throws(() => parseEvalFlags({ perUser: join(dir, "rows.json") }), /--per-user .*unknown extension '.json'/);
    assert.throws(() => parseEvalFlags({ perUser: join(dir, "missing", "rows.csv") }), /--per-user .*does not exist/);
    const file = join(dir, "file");
    writeFileSync(file, "");
    assert.throws(() => parseEvalFlags({ runDir: file }), /--run-dir .* is a file, not a folder/);
    const s = parseEvalFlags({ runDir: join(dir, "runs", "a"), perUser: join(dir, "rows.jsonl"), lambdas: "1,5", grid: "depth=1,2" });
    assert.ok(existsSync(join(dir, "runs", "a")));
    assert.deepEqual(s.gridSpec, [{ key: "lambda", values: [1, 5] }, { key: "depth", values: [1, 2] }]);
    assert.throws(() => parseEvalFlags({ lambdas: "1", grid: "lambda=2" }), /--lambdas or with --grid lambda=…, not both/);
    assert.throws(() => parseEvalFlags({ grid: "lambda" }), /--grid: 'lambda' has no '='/);
  });
});

test("a saved model (evaluate --model FILE) is evaluated as saved: the flags that search or record are named", () => {
  withTempDir((dir) => {
    setRawArgv(["--lambdas", "1", "--metrics", "hr"]);
    assert.deepEqual(flagsNotForSavedModels(parseEvalFlags({ lambdas: "1", metrics: "hr", perUser: join(dir, "rows.csv") })), ["--lambdas", "--metrics", "--per-user"]);
    setRawArgv([]);
    assert.deepEqual(flagsNotForSavedModels(parseEvalFlags({ seed: 3, ties: "random" })), []);
  });
});

test("resolveGrid: --lambdas for inf-ae and ease; other models' keys through --grid; bad candidates named", () => {
  setRawArgv(["--lambdas", "1,5"]);
  const spec = [{ key: "lambda", values: [1, 5] }];
  const infAe = [{ lambda: 0, depth: 1 }, { lambda: 20, depth: 1 }];
  assert.deepEqual(resolveGrid("inf-ae", MODELS["inf-ae"], infAe, spec), [{ lambda: 1, depth: 1 }, { lambda: 5, depth: 1 }]);
  assert.deepEqual(resolveGrid("ease", MODELS.ease, [{ lambda: 500 }], spec), [{ lambda: 1 }, { lambda: 5 }]);
  const mfGrid = [{ epochs: 30, batchSize: 2048, lr: 0.002, dim: 64, reg: 1e-4 }];
  assert.throws(() => resolveGrid("mf", MODELS.mf, mfGrid, spec), /--lambdas: model 'mf' has no hyper-parameter 'lambda' \(its grid's keys: epochs, batchSize, lr, dim, reg\); set its grid with --grid/);
  setRawArgv(["--grid", "dim=8,16"]);
  assert.deepEqual(resolveGrid("mf", MODELS.mf, mfGrid, [{ key: "dim", values: [8, 16] }])?.map((p) => p.dim), [8, 16]);
  assert.throws(() => resolveGrid("inf-ae", MODELS["inf-ae"], infAe, [{ key: "depth", values: [0] }]), /--grid: candidate \{"lambda":0,"depth":0\}: InfiniteAE: depth must be an integer ≥ 1/);
  assert.equal(resolveGrid("pop", MODELS.pop, [{}], null), null);
});

test("metricsTable: one row per family, one column per cut-off", () => {
  const lines = metricsTable({ AUC: 0.85, "HR@10": 25.5, "NDCG@10": 22.1, "HR@100": 61.1, "NDCG@100": 30.6 }).split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^metric\s+@10\s+@100$/);
  assert.match(lines[1], /^AUC\s+0\.8500\s*$/);
  assert.match(lines[2], /^HR\s+25\.5000\s+61\.1000$/);
});

test("the run log keeps the last state of each redrawn progress line, without colour codes", () => {
  assert.equal(logLines("fit [#.] 10%\x1b[K\rfit [##] 100%\x1b[K\nskipped λ 0\n"), "fit [##] 100%\nskipped λ 0\n");
  withTempDir((dir) => {
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const run = new RunRecorder(dir, "evaluate", { model: "pop", "data-dir": "x", dataDir: "x", "--": [] }, { seed: 1 });
      process.stderr.write("progress 50%\n");
      run.resolve({ grid: [{}] });
      run.fail(new Error("boom"));
      process.stderr.write("after the run\n");
      const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      assert.deepEqual(config.options, { model: "pop", dataDir: "x" });
      assert.deepEqual(config.resolved, { seed: 1, grid: [{}] });
      assert.equal(config.versions.node, process.versions.node);
      assert.match(config.versions["onnxruntime-node"], /^\d+\.\d+\.\d+/);
      assert.equal(readFileSync(join(dir, "log.txt"), "utf8"), "progress 50%\ninfrec: boom\n");
      assert.deepEqual(readdirSync(dir).sort(), ["config.json", "log.txt"]);
    } finally {
      process.stderr.write = write;
    }
  });
});

test("evaluate: every metric by default, --metrics narrows, the same seed gives the same numbers", async () => {
  const base = ["evaluate", "--model", "pop", "--dataset", "magazine", "--ties", "random", "--json"];
  const a = await infrec(...base, "--seed", "5");
  assert.equal(a.code, 0, a.stderr);
  const outA = JSON.parse(a.stdout);
  assert.equal(outA.seed, 5);
  assert.deepEqual(Object.keys(outA.metrics).slice(0, 9), ["AUC", "HR@10", "NDCG@10", "PSP@10", "Recall@10", "Precision@10", "MAP@10", "MRR@10", "Coverage@10"]);
  const again = JSON.parse((await infrec(...base, "--seed", "5")).stdout);
  assert.deepEqual(again.metrics, outA.metrics);
  const other = JSON.parse((await infrec(...base, "--seed", "6", "--metrics", "paper")).stdout);
  assert.deepEqual(Object.keys(other.metrics), ["AUC", "HR@10", "NDCG@10", "PSP@10", "HR@100", "NDCG@100", "PSP@100"]);
  assert.notEqual(other.metrics.AUC, outA.metrics.AUC);
  // Recall never exceeds HR (|targets| ≥ min(|targets|, k)); PopRec recommends the same list to everyone.
  assert.ok(outA.metrics["Recall@10"] <= outA.metrics["HR@10"]);
  assert.ok(outA.metrics["Coverage@10"] < 5, String(outA.metrics["Coverage@10"]));
});

test("--seed decides the split of a --data file: same seed, same numbers", async () => {
  await withTempDir(async (dir) => {
    const next = lcg(3);
    const lines = ["user,item"];
    for (let u = 0; u < 60; u++) for (let j = 0; j < 10; j++) lines.push(`u${u},i${Math.floor(next() * 40)}`);
    const file = join(dir, "log.csv");
    writeFileSync(file, lines.join("\n") + "\n");
    const run = async (seed: string) => {
      const r = await infrec("evaluate", "--model", "pop", "--data", file, "--metrics", "hr,ndcg,recall", "--seed", seed, "--json");
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).metrics;
    };
    const a = await run("1");
    assert.deepEqual(await run("1"), a);
    assert.notDeepEqual(await run("2"), a);
  });
});

test("fit --lambdas with --per-user and --run-dir: the candidates searched, per-user rows, config, log and results saved", async () => {
  await withTempDir(async (dir) => {
    const rows = join(dir, "rows.csv");
    const runDir = join(dir, "run");
    const r = await infrec("fit", "--model", "ease", "--dataset", "magazine", "--lambdas", "200,500", "--metrics", "hr,recall", "--per-user", rows, "--run-dir", runDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.hyperParameters.lambda, 500);
    assert.deepEqual(Object.keys(out.test), ["HR@10", "Recall@10", "HR@100", "Recall@100"]);
    const lines = readFileSync(rows, "utf8").trim().split("\n");
    assert.equal(lines[0], "user,targets,HR@10,Recall@10,HR@100,Recall@100");
    const hr10 = lines.slice(1).reduce((s, l) => s + Number(l.split(",")[2]), 0) / 3092;
    assert.ok(Math.abs(hr10 - out.test["HR@10"]) < 1e-9, `${hr10} vs ${out.test["HR@10"]}`);
    assert.deepEqual(readdirSync(runDir).sort(), ["config.json", "log.txt", "results.json"]);
    const config = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8"));
    assert.deepEqual(config.resolved.grid, [{ lambda: 200 }, { lambda: 500 }]);
    assert.equal(config.options.seed, 42);
    assert.equal(config.options.ties, "index");
    assert.equal(config.command, "fit");
    assert.deepEqual(JSON.parse(readFileSync(join(runDir, "results.json"), "utf8")), out);
    assert.match(readFileSync(join(runDir, "log.txt"), "utf8"), /fit ease .*100%/);
  });
});

test("bad grids are one-line usage errors naming the model's keys", async () => {
  const cases: [string[], RegExp][] = [
    [["evaluate", "--model", "mf", "--dataset", "magazine", "--lambdas", "1,2"], /--lambdas: model 'mf' has no hyper-parameter 'lambda' \(its grid's keys: .*dim.*\); set its grid with --grid/],
    [["evaluate", "--model", "inf-ae", "--dataset", "magazine", "--grid", "width=2"], /--grid: model 'inf-ae' has no hyper-parameter 'width' \(its grid's keys: lambda, depth\)/],
    [["fit", "--model", "ease", "--dataset", "magazine", "--lambda", "5", "--lambdas", "1,2"], /--lambda .* or --lambdas .*, not both/],
    [["evaluate", "--dataset", "magazine", "--metrics", "f1"], /--metrics: unknown metric 'f1'/],
  ];
  for (const [args, message] of cases) {
    const r = await infrec(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
