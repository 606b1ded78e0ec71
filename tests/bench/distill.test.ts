/**
 * bench/distill.ts on the bundled Magazine set, tiny sizes: the JSON it
 * prints, full batch and mini-batches, workers and the float32/float64 inner
 * paths, and its one-line refusals.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../lib/data/registry.ts";

const BENCH = join(REPO_ROOT, "bench", "distill.ts");

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", BENCH, "--data", "magazine", "--mu", "8", "--gamma", "3", "--steps", "2", "--threads", "1", "--workers", "0", ...args], {
    encoding: "utf8",
    cwd: REPO_ROOT,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface BenchJson {
  datasetUsers: number;
  batch: number | null;
  batchPool: number;
  innerPrecision: string;
  steps: { step: number; total: number; loss: number; sampling: number; batch: number }[];
  meanAfterFirst: Record<string, number>;
  rssBeforeStepsMb: number;
  peakRssMb: number;
}

test("bench/distill.ts: stages per step and memory as JSON, full batch and mini-batches, both inner precisions", () => {
  const runs: BenchJson[] = [];
  for (const extra of [[], ["--batch", "64", "--users", "200"], ["--inner-precision", "float64"]]) {
    const r = bench("--json", ...extra);
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    runs.push(JSON.parse(r.stdout) as BenchJson);
  }
  const [full, mini, f64] = runs;
  for (const j of runs) {
    assert.equal(j.steps.length, 2);
    for (const s of j.steps) {
      assert.ok(s.total > 0 && Number.isFinite(s.loss) && s.loss > 0, JSON.stringify(s));
      assert.ok(s.sampling >= 0 && s.batch >= 0);
    }
    assert.ok(j.meanAfterFirst.total > 0);
    assert.ok(j.peakRssMb >= j.rssBeforeStepsMb && j.rssBeforeStepsMb > 0);
  }
  assert.equal(full.batch, null);
  assert.equal(full.batchPool, full.datasetUsers);
  assert.deepEqual([mini.batch, mini.batchPool], [64, 200]);
  assert.equal(full.innerPrecision, "float32");
  assert.equal(f64.innerPrecision, "float64");
  // The same step in float32 and float64 inner products: losses agree to float32 rounding.
  assert.ok(Math.abs(f64.steps[0].loss - full.steps[0].loss) <= 1e-5 * full.steps[0].loss, `${f64.steps[0].loss} vs ${full.steps[0].loss}`);
});

test("bench/distill.ts: bad flags are refused in one line", () => {
  const cases: [string[], RegExp][] = [
    [["--batch", "0"], /--batch must be an integer in \[1, --users\]/],
    [["--users", "99999999"], /--users must be an integer in \[1, \d+\]/],
    [["--sampling", "gpu"], /--sampling must be workers or device/],
    [["--inner-precision", "half"], /--inner-precision must be float64 or float32/],
  ];
  for (const [args, message] of cases) {
    const r = bench(...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, message);
  }
});
