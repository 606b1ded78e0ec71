/**
 * scripts/table-beyond.ts end to end on the bundled Magazine: two models of the
 * EASE family on full data and on a saved DISTILL-CF summary, the files it
 * writes and the paper's best row beside them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../lib/data/registry.ts";
import { runDistill } from "../../lib/distill/run.ts";
import { saveSummary } from "../../lib/distill/summary.ts";
import { mergeCells, paperBest, runTableBeyond } from "../../scripts/table-beyond.ts";
import { withTempDir } from "../helpers.ts";

test("table-beyond: EASE and RLAE on full data and on a summary, as md/csv/json with the paper's best row", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset("magazine");
    const run = await runDistill(ds, { mu: 20, gamma: 2, steps: 1, samplingWorkers: 0 });
    saveSummary(join(dir, "magazine.infrec-summary"), run.summary);
    const full = await runTableBeyond({ datasets: ["magazine"], models: ["ease", "rlae"], quick: true, out: dir, device: "cpu", quiet: true });
    assert.deepEqual(full.map((c) => `${c.model}/${c.trainedOn}`), ["ease/full", "rlae/full"]);
    const withSummary = await runTableBeyond({ datasets: ["magazine"], models: ["rlae"], quick: true, out: dir, device: "cpu", quiet: true, summaries: dir });
    assert.deepEqual(withSummary.map((c) => `${c.model}/${c.trainedOn}`), ["rlae/full", "rlae/summary"]);
    const cells = [...full, ...withSummary];
    // EASE's quick grid on Magazine picks λ = 500 with test NDCG@10 22.92 (docs/protocol.md §6).
    assert.deepEqual(cells[0].hyperParameters, { lambda: 500 });
    assert.ok(Math.abs(cells[0].metrics["NDCG@10"] - 22.92) < 0.01, `EASE NDCG@10 ${cells[0].metrics["NDCG@10"]}`);
    assert.equal(cells[2].hyperParameters.xi, 0.1);
    for (const c of cells) {
      assert.equal(c.gridPoints, 2);
      for (const m of ["AUC", "HR@10", "NDCG@10", "PSP@10", "PSP@100"]) assert.ok(Number.isFinite(c.metrics[m]), `${c.model}/${c.trainedOn} ${m}`);
    }
    assert.equal(paperBest("magazine")?.model, "distill-inf-ae");
    const md = readFileSync(join(dir, "table-beyond.md"), "utf8");
    assert.match(md, /\| paper's best: DISTILL-CF \+ ∞-AE \| full \| 0\.8584 \| 28\.27 \|/);
    const csv = readFileSync(join(dir, "table-beyond.csv"), "utf8").trim().split("\n");
    assert.equal(csv.length, 1 + withSummary.length); // the files hold the last run
    assert.match(csv[2], /^magazine,rlae,summary,/);
    assert.equal(JSON.parse(readFileSync(join(dir, "table-beyond.json"), "utf8")).cells.length, 2);
    await assert.rejects(runTableBeyond({ datasets: ["magazine"], models: ["nope"], quick: true, out: dir, device: "cpu", quiet: true }), /unknown model 'nope'/);
    // The summary column alone, merged into the table: the full rows stay as they were.
    const summaryOnly = await runTableBeyond({ datasets: ["magazine"], models: ["ease"], quick: true, out: dir, device: "cpu", quiet: true, summaries: dir, trainedOn: ["summary"], merge: true });
    assert.deepEqual(summaryOnly.map((c) => `${c.model}/${c.trainedOn}`), ["ease/summary"]);
    const merged = JSON.parse(readFileSync(join(dir, "table-beyond.json"), "utf8")).cells as { model: string; trainedOn: string }[];
    assert.deepEqual(merged.map((c) => `${c.model}/${c.trainedOn}`), ["rlae/full", "rlae/summary", "ease/summary"]);
    await assert.rejects(runTableBeyond({ datasets: ["magazine"], models: ["ease"], quick: true, out: dir, device: "cpu", quiet: true, trainedOn: ["summary"] }), /--trained-on summary needs --summaries/);
    await assert.rejects(runTableBeyond({ datasets: ["magazine"], models: ["ease"], quick: true, out: dir, device: "cpu", quiet: true, summaries: dir, trainedOn: ["both" as "full"] }), /--trained-on: 'both'/);
  });
});

test("table-beyond --merge: the ∞-AE extensions and the blend join an earlier table, replacing only their own rows", async () => {
  await withTempDir(async (dir) => {
    const opts = { datasets: ["magazine"], quick: true, out: dir, device: "cpu" as const, quiet: true };
    await runTableBeyond({ ...opts, models: ["ease", "inf-ae-nngp"] });
    const again = await runTableBeyond({ ...opts, models: ["inf-ae-nngp", "blend"], merge: true });
    assert.deepEqual(again.map((c) => c.model), ["inf-ae-nngp", "blend"]);
    assert.equal(again[0].hyperParameters.kernel, "nngp");
    assert.ok(Number(again[1].hyperParameters.w) > 0 && Number(again[1].hyperParameters.w) < 1);
    const json = JSON.parse(readFileSync(join(dir, "table-beyond.json"), "utf8")) as { cells: { model: string }[] };
    assert.deepEqual(json.cells.map((c) => c.model), ["ease", "inf-ae-nngp", "blend"]);
    assert.match(readFileSync(join(dir, "table-beyond.md"), "utf8"), /\| blend \| full \|/);
    assert.deepEqual(mergeCells([again[0]], [again[0]]), [again[0]]);
    // Picked on validation NDCG@10: a row of its own beside the HR@100 one.
    const byNdcg = await runTableBeyond({ ...opts, models: ["blend"], merge: true, metric: "NDCG@10" });
    assert.equal(byNdcg[0].selectedBy, "NDCG@10");
    const md = readFileSync(join(dir, "table-beyond.md"), "utf8");
    assert.match(md, /\| blend \| full \|/);
    assert.match(md, /\| blend \(validation NDCG@10\) \| full \|/);
    assert.match(readFileSync(join(dir, "table-beyond.csv"), "utf8"), /^magazine,blend,full,.*,NDCG@10$/m);
  });
});

test("mergeCells: a recomputed cell keeps the measured fit cost only when it picked the same hyper-parameters", () => {
  const fit = { seconds: 4.8, peakRssMb: 510, dataRssMb: 137, machine: "m", loadAverage: [1, 2] as [number, number], measuredAt: "2025-01-01T00:00:00Z" };
  const cell = (lambda: number, withFit: boolean) => ({
    dataset: "d", model: "ease", trainedOn: "full" as const, metrics: {}, hyperParameters: { lambda }, gridPoints: 8, seconds: 1, ...(withFit ? { fit } : {}),
  });
  assert.deepEqual(mergeCells([cell(1000, true)], [cell(1000, false)])[0].fit, fit);
  assert.equal(mergeCells([cell(1000, true)], [cell(500, false)])[0].fit, undefined);
});
