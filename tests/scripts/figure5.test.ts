/**
 * scripts/figure5.ts end to end on a small timestamped log: the CSV, JSON, SVG
 * and PNG it writes, --replot from the JSON, and its flag checks.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Rng } from "../../lib/random.ts";
import { parseFigure5Args, runFigure5 } from "../../scripts/figure5.ts";
import { withTempDir } from "../helpers.ts";

/** u.data's layout (user, item, rating, unix time, tab-separated): 24 users in two taste groups. */
function writeLog(path: string): void {
  const rng = new Rng(2);
  const lines: string[] = [];
  for (let u = 1; u <= 24; u++) {
    for (const i of rng.shuffle(Array.from({ length: 10 }, (_, k) => (u % 2 ? 11 : 1) + k))) {
      lines.push(`${u}\t${i}\t${1 + rng.int(5)}\t${880000000 + rng.int(1e6)}`);
    }
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

test("figure5: csv/json/svg/png for four methods, then --replot from the JSON", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "log.tsv");
    writeLog(data);
    const argv = ["node", "figure5.ts", "--quick", "--quiet", "--data", data, "--out", dir, "--periods", "3", "--budget", "6", "--distill-gamma", "2", "--distill-steps", "1"];
    const s = parseFigure5Args(argv);
    assert.ok(s);
    assert.equal(s.name, "log");
    assert.equal(s.continual.periods, 3);
    const result = await runFigure5(s);
    assert.equal(result.points.length, 2 * 4);
    const csv = readFileSync(join(dir, "figure5-quick.csv"), "utf8").trim().split("\n");
    assert.equal(csv.length, 1 + 8);
    assert.match(csv[0], /^dataset,method,trained_through_period,tested_period,HR@10,NDCG@10,/);
    assert.match(csv[1], /^log,joint,1,2,/);
    const json = JSON.parse(readFileSync(join(dir, "figure5-quick.json"), "utf8"));
    assert.deepEqual(Object.keys(json.means).sort(), ["ader", "distill-cf", "individual", "joint"]);
    assert.equal(json.periods.length, 3);
    assert.match(readFileSync(join(dir, "figure5-quick.svg"), "utf8"), /DISTILL-CF/);
    rmSync(join(dir, "figure5-quick.png"));
    const replot = parseFigure5Args([...argv, "--replot"]);
    assert.ok(replot);
    await runFigure5(replot);
    assert.ok(existsSync(join(dir, "figure5-quick.png")));
  });
});

test("figure5: bad flags and a missing file are one-line errors", async () => {
  assert.throws(() => parseFigure5Args(["node", "figure5.ts", "--methods", "joint,nope"]), /unknown method 'nope'/);
  assert.throws(() => parseFigure5Args(["node", "figure5.ts", "--budget", "0"]), /--budget must be a positive integer/);
  const s = parseFigure5Args(["node", "figure5.ts", "--data", "/nonexistent/ratings.dat", "--quiet"]);
  assert.ok(s);
  assert.equal(s.name, "ml-1m");
  await assert.rejects(runFigure5(s), /missing data file \/nonexistent\/ratings\.dat/);
});
