/**
 * scripts/table2.ts (the paper's Table 2) on the bundled Magazine: its numbers
 * are those `infrec datasets` prints, and its Markdown and CSV show them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import { runTable2 } from "../../scripts/table2.ts";
import { withTempDir } from "../helpers.ts";

test("table2 --quick: Magazine's statistics equal `infrec datasets`, written as md/csv/json", async () => {
  await withTempDir(async (dir) => {
    const rows = await runTable2({ quick: true, out: dir });
    assert.deepEqual(rows.map((r) => r.name), ["magazine"]);
    const cli = spawnSync(process.execPath, ["--import", "tsx", "lib/cli/main.ts", "datasets", "--dataset", "magazine", "--json"], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    const expected = JSON.parse(cli.stdout);
    const [m] = rows;
    for (const k of ["users", "items", "interactions", "density", "train", "validation", "test"] as const) assert.equal(m[k], expected[k], k);
    assert.deepEqual([m.users, m.items, m.interactions], [3092, 1305, 12689]);
    assert.equal(m.interactionsPerUser, 12689 / 3092);
    const md = readFileSync(join(dir, "table2-quick.md"), "utf8");
    assert.match(md, /\| magazine \| 3,092 \| 1,305 \| 12,689 \| 0\.303 \| 4\.1 \| 9\.7 \| 5,984 \| 436 \| 6,269 \|/);
    const csv = readFileSync(join(dir, "table2-quick.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "dataset,users,items,interactions,density,interactions_per_user,interactions_per_item,train,validation,test,duplicates");
    assert.ok(csv[1].startsWith(`magazine,3092,1305,12689,${expected.density},`));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "table2-quick.json"), "utf8")).rows, JSON.parse(JSON.stringify(rows)));
  });
});
