/**
 * `infrec distill`'s flags for the options beyond the paper (lib/cli/distill.ts):
 * absent, they leave the official algorithm's options untouched; bad values
 * give one-line errors naming the flag; a run with --learn-targets writes Y.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cac } from "cac";
import { parseDistillFlags, registerDistillCommand } from "../../lib/cli/distill.ts";
import { loadSummary } from "../../lib/distill/summary.ts";
import { loadTargets } from "../../lib/distill/kip.ts";

const base = { out: "x.infrec-summary" };

test("without the new flags no new option is set (the official algorithm runs)", () => {
  const { options, targetsOut } = parseDistillFlags(base);
  for (const key of ["tauSchedule", "lambdaPool", "logitRank", "learnTargets", "inner"] as const) assert.equal(options[key], undefined, key);
  assert.equal(targetsOut, null);
  // cac's default for --inner is the paper's model.
  assert.equal(parseDistillFlags({ ...base, inner: "inf-ae" }).options.inner, "inf-ae");
});

test("new flags parse into run options", () => {
  const o = parseDistillFlags({ ...base, tauSchedule: "10:0.5", lambdaPool: "1e-5,1e-3,0.1", logitRank: "32", learnTargets: true }).options;
  assert.deepEqual(o.tauSchedule, { start: 10, end: 0.5, shape: "geometric" });
  assert.deepEqual(o.lambdaPool, [1e-5, 1e-3, 0.1]);
  assert.equal(o.logitRank, 32);
  assert.equal(o.learnTargets, true);
  assert.deepEqual(parseDistillFlags({ ...base, tauSchedule: "5:1:linear" }).options.tauSchedule, { start: 5, end: 1, shape: "linear" });
  assert.equal(parseDistillFlags({ ...base, lambdaPool: "grid" }).options.lambdaPool, "grid");
  assert.deepEqual(parseDistillFlags({ ...base, lambdaPool: 0.1 }).options.lambdaPool, [0.1]);
  assert.equal(parseDistillFlags({ ...base, inner: "ease" }).options.inner, "ease");
  assert.equal(parseDistillFlags({ ...base, learnTargets: true }).targetsOut, "x.infrec-summary.targets");
  assert.equal(parseDistillFlags({ ...base, learnTargets: true, targetsOut: "y.targets" }).targetsOut, "y.targets");
  assert.equal(parseDistillFlags({ ...base, sampling: "device" }).options.sampling, "device");
  assert.equal(parseDistillFlags(base).options.sampling, "auto");
  assert.equal(parseDistillFlags({ ...base, innerPrecision: "float64" }).options.innerPrecision, "float64");
  assert.equal(parseDistillFlags(base).options.innerPrecision, "float32");
});

test("bad values: one-line errors naming the flag", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ tauSchedule: "10" }, /--tau-schedule must be START:END or START:END:geometric\|linear \(e\.g\. 10:0\.5\), got '10'/],
    [{ tauSchedule: "10:0" }, /--tau-schedule: START and END must be finite numbers > 0, got '10:0'/],
    [{ tauSchedule: "10:1:cosine" }, /--tau-schedule: the shape must be geometric or linear, got 'cosine'/],
    [{ tauSchedule: true }, /--tau-schedule needs a value/],
    [{ lambdaPool: "0.1,,1" }, /--lambda-pool must be a comma-separated list of numbers, got '0.1,,1'/],
    [{ lambdaPool: "0.1,-1" }, /--lambda-pool values must be ≥ 0, got -1/],
    [{ lambdaPool: "0,1", inner: "ease" }, /--lambda-pool values must be > 0 with --inner ease, got 0/],
    [{ logitRank: "0" }, /--logit-rank must be a positive integer \(the rank d of L = U·V\), got '0'/],
    [{ logitRank: "2.5" }, /--logit-rank/],
    [{ inner: "knn" }, /--inner must be one of inf-ae, ease, got 'knn'/],
    [{ inner: "ease", learnTargets: true }, /--learn-targets needs --inner inf-ae/],
    [{ targetsOut: "y.targets" }, /--targets-out is only written with --learn-targets/],
    [{ inner: "ease", initialLambda: "0" }, /--initial-lambda must be > 0 with --inner ease/],
    [{ sampling: "gpu" }, /--sampling must be auto, workers or device, got "gpu"/],
    [{ innerPrecision: "float16" }, /--inner-precision must be float32 or float64, got "float16"/],
  ];
  for (const [flags, message] of bad) assert.throws(() => parseDistillFlags({ ...base, ...flags }), message, JSON.stringify(flags));
});

test("a short run with --learn-targets --logit-rank writes the summary and Y, --evaluate reports ∞-AE on (X̂, Y) and EASE; --logit-rank above the budget is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "infrec-distill-opt-"));
  const data = join(dir, "planted.csv");
  const lines = ["user,item"];
  for (let u = 0; u < 40; u++) for (let k = 0; k < 8; k++) lines.push(`u${u},i${(u % 4) * 5 + ((u * 7 + k * 3) % 5) + (k === 7 ? 1 : 0)}`);
  writeFileSync(data, lines.join("\n") + "\n");
  const out = join(dir, "s.infrec-summary");
  try {
    const written: string[] = [];
    const run = async (...args: string[]): Promise<void> => {
      const cli = cac("infrec");
      registerDistillCommand(cli, (line) => written.push(line));
      cli.parse(["node", "infrec", "distill", "--data", data, "--budget", "5", "--samples", "3", "--steps", "3", "--workers", "0", "--out", out, ...args], { run: false });
      await cli.runMatchedCommand();
    };
    await run("--learn-targets", "--logit-rank", "2", "--tau-schedule", "3:1", "--lambda-pool", "grid", "--evaluate", "--json");
    const evaluations = written.map((l) => JSON.parse(l) as { type: string; model?: string; targets?: boolean; test?: Record<string, number> }).filter((e) => e.type === "evaluation");
    assert.deepEqual(evaluations.map((e) => [e.model, e.targets]), [["inf-ae", true], ["ease", false]]);
    for (const e of evaluations) assert.ok(Number.isFinite(e.test?.["NDCG@10"]));
    const s = loadSummary(out);
    const y = loadTargets(`${out}.targets`);
    assert.equal(y.header.mu, 5);
    assert.equal(y.values.length, s.values.length);
    await assert.rejects(run("--logit-rank", "6"), /--logit-rank 6 exceeds min\(--budget, items\) = 5/);
    await run("--inner", "ease");
    assert.equal(loadSummary(out).header.mu, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
