/**
 * scripts/table1.ts end to end on the bundled Magazine: the Markdown, CSV and
 * JSON it writes, the paper's numbers beside ours, and the DISTILL-CF column
 * reading a saved summary.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../lib/data/registry.ts";
import { runDistill } from "../../lib/distill/run.ts";
import { saveSummary } from "../../lib/distill/summary.ts";
import { runTable1 } from "../../scripts/table1.ts";
import { withTempDir } from "../helpers.ts";

test("table1: PopRec and DISTILL-CF + ∞-AE from a saved summary, written as md/csv/json", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset("magazine");
    const run = await runDistill(ds, { mu: 20, gamma: 2, steps: 1, samplingWorkers: 0 });
    saveSummary(join(dir, "magazine.infrec-summary"), run.summary);
    const cells = await runTable1({ datasets: ["magazine"], models: ["pop", "distill-inf-ae"], quick: true, out: dir, device: "cpu", quiet: true, summaries: dir });
    assert.deepEqual(cells.map((c) => c.model), ["pop", "distill-inf-ae"]);
    const pop = cells[0];
    assert.ok(Math.abs(pop.metrics["HR@10"] - 14.012) < 0.01, `PopRec HR@10 ${pop.metrics["HR@10"]}`);
    const d = cells[1];
    assert.equal(d.hyperParameters.mu, 20);
    assert.match(d.note ?? "", /summary read from/);
    for (const m of ["AUC", "HR@10", "NDCG@10", "PSP@10", "HR@100", "NDCG@100"]) assert.ok(Number.isFinite(d.metrics[m]), m);
    const md = readFileSync(join(dir, "table1.md"), "utf8");
    assert.match(md, /\| HR@10 \| 14\.01 \(14\.35\) \| [0-9.]+ \(28\.27\) \|/);
    const csv = readFileSync(join(dir, "table1.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "dataset,model,metric,ours,paper");
    assert.ok(csv.some((l) => l.startsWith("magazine,distill-inf-ae,NDCG@10,") && l.endsWith(",23.81")));
    assert.ok(existsSync(join(dir, "table1.json")));
    await assert.rejects(runTable1({ datasets: ["magazine"], models: ["nope"], quick: true, out: dir, device: "cpu", quiet: true }), /unknown model column 'nope'/);
  });
});
