/**
 * scripts/validation-curves.ts: the candidates it fits, its Markdown, and a
 * --quick run on the bundled Magazine (EASE, two λ) that never touches the test split.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import { axisCandidates, type CurvePoint, curvesMarkdown } from "../../scripts/validation-curves.ts";
import { withTempDir } from "../helpers.ts";

test("axisCandidates: the pick with one key replaced per value; unknown keys are named", () => {
  const at = { lambda: 10, beta: 0.5 };
  const c = axisCandidates(at, [{ key: "lambda", values: [5, 10] }, { key: "beta", values: [0.4] }]);
  assert.deepEqual(c, [
    { axis: "lambda", params: { lambda: 5, beta: 0.5 } },
    { axis: "lambda", params: { lambda: 10, beta: 0.5 } },
    { axis: "beta", params: { lambda: 10, beta: 0.4 } },
  ]);
  assert.throws(() => axisCandidates(at, [{ key: "alpha", values: [1] }]), /'alpha' is not a key of --at \(lambda, beta\)/);
});

test("curvesMarkdown: a table per axis, the pick in bold", () => {
  const points: CurvePoint[] = [
    { axis: "lambda", value: 5, atPick: false, params: { lambda: 5 }, validation: { "NDCG@10": 1.5 } },
    { axis: "lambda", value: 10, atPick: true, params: { lambda: 10 }, validation: { "NDCG@10": 2.25 } },
  ];
  const md = curvesMarkdown("T", points, ["NDCG@10"]);
  assert.match(md, /## lambda\n\n\| lambda \| NDCG@10 \|\n\| --- \| --- \|\n\| 5 \| 1\.500 \|\n\| \*\*10\*\* \| \*\*2\.250\*\* \|/);
});

test("validation-curves --quick: Magazine's EASE on two λ, validation metrics only", async () => {
  await withTempDir(async (dir) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/validation-curves.ts", "--quick", "--out", dir], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(dir, "validation-curves-magazine-ease-quick.json"), "utf8"));
    assert.equal(json.points.length, 2);
    assert.deepEqual(json.points.map((p: CurvePoint) => p.value), [50, 100]);
    assert.deepEqual(json.points.map((p: CurvePoint) => p.atPick), [false, true]);
    for (const p of json.points as CurvePoint[]) {
      assert.ok(p.validation["NDCG@10"] > 0 && p.validation["HR@100"] > 0, JSON.stringify(p.validation));
    }
    assert.ok(!("test" in json), "no test metrics are written");
    const md = readFileSync(join(dir, "validation-curves-magazine-ease-quick.md"), "utf8");
    assert.match(md, /\| \*\*100\*\* \|/);
  });
  const bad = spawnSync(process.execPath, ["--import", "tsx", "scripts/validation-curves.ts", "--at", "nope", "--axes", "lambda=1"], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--at must be the chosen point as JSON/);
});
