/**
 * bench/beyond-fit.ts: which fits it runs for a table, the CSR hand-over to
 * its children, and a --quick run (Magazine; EASE, ∞-AE, GF-CF at the
 * committed table's picks) whose fits are merged into a copy of the table.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fitTargets, type FitReport, QUICK_MODELS, readMatrix, writeMatrix } from "../../bench/beyond-fit.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import type { BeyondCell } from "../../scripts/table-beyond.ts";
import { withTempDir } from "../helpers.ts";

const cell = (model: string, hyperParameters: BeyondCell["hyperParameters"], extra: Partial<BeyondCell> = {}): BeyondCell => ({
  dataset: "d", model, trainedOn: "full", metrics: {}, hyperParameters, gridPoints: 1, seconds: 1, ...extra,
});

test("fitTargets: one fit per (model, pick) trained on full data; a row picked on another metric shares an equal pick", () => {
  const cells = [
    cell("ease", { lambda: 1000 }),
    cell("blend", { w: 1 }),
    cell("blend", { w: 0.2 }, { selectedBy: "NDCG@10" }),
    cell("inf-ae", { lambda: 2 }),
    cell("inf-ae", { lambda: 2 }, { selectedBy: "NDCG@10" }),
    cell("ease", { lambda: 1 }, { trainedOn: "summary" }),
    cell("ease", { lambda: 5 }, { dataset: "other" }),
  ];
  assert.deepEqual(fitTargets(cells, "d"), [
    { model: "ease", hyperParameters: { lambda: 1000 }, rows: ["ease"] },
    { model: "blend", hyperParameters: { w: 1 }, rows: ["blend"] },
    { model: "blend", hyperParameters: { w: 0.2 }, rows: ["blend (validation NDCG@10)"] },
    { model: "inf-ae", hyperParameters: { lambda: 2 }, rows: ["inf-ae", "inf-ae (validation NDCG@10)"] },
  ]);
  assert.deepEqual(fitTargets(cells, "d", ["inf-ae"]).map((t) => t.rows.length), [2]);
  assert.throws(() => fitTargets(cells, "d", ["ease", "gf-cf"]), /no d row trained on full data for gf-cf/);
  assert.throws(() => fitTargets(cells, "nope"), /no nope rows/);
});

test("writeMatrix / readMatrix: the training matrix a child fits on is the parent's", async () => {
  await withTempDir((dir) => {
    const m = InteractionMatrix.fromTriplets(3, 4, [0, 0, 2, 1], [1, 3, 0, 2], [1, 0.5, 1, 1]);
    writeMatrix(join(dir, "m.csr"), m);
    const back = readMatrix(join(dir, "m.csr"));
    assert.equal(back.numUsers, 3);
    assert.equal(back.numItems, 4);
    assert.deepEqual([...back.indptr], [...m.indptr]);
    assert.deepEqual([...back.indices], [...m.indices]);
    assert.deepEqual([...back.values], [...m.values]);
  });
});

test("beyond-fit --quick: Magazine's picks fitted once each in fresh processes, timed, with peak RSS, merged into the table", async () => {
  await withTempDir((dir) => {
    const table = join(dir, "table-beyond.json");
    copyFileSync(join(REPO_ROOT, "docs", "tables", "table-beyond.json"), table);
    const out = join(dir, "fit");
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/beyond-fit.ts", "--quick", "--table", table, "--out", out, "--write-table", "--json"], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as FitReport;
    assert.deepEqual(JSON.parse(readFileSync(`${out}.json`, "utf8")), report);
    assert.equal(report.dataset, "magazine");
    assert.deepEqual([report.users, report.items], [3092, 1305]);
    assert.match(report.machine, /\d+ cores, \d+ GiB, ORT CPU \d+ threads?/);
    for (const k of ["start", "end"] as const) assert.equal(report.loadAverage[k].length, 3);
    assert.ok(report.commit.length > 0 && Array.isArray(report.libChanges));
    // The table's order: ease, gf-cf, inf-ae.
    assert.deepEqual(report.fits.map((f) => f.model), ["ease", "gf-cf", "inf-ae"]);
    assert.deepEqual([...report.fits.map((f) => f.model)].sort(), [...QUICK_MODELS].sort());
    const cells = JSON.parse(readFileSync(table, "utf8")).cells as BeyondCell[];
    for (const f of report.fits) {
      assert.ok(f.fitSeconds > 0 && f.fitSeconds < 60, `${f.model} fit ${f.fitSeconds} s`);
      assert.ok(f.dataRssMb > 0 && f.peakRssMb >= f.dataRssMb && f.peakRssMb >= f.loadPeakRssMb, `${f.model} RSS ${f.dataRssMb} → ${f.peakRssMb}`);
      assert.deepEqual(f.fitted, f.hyperParameters, "the fitted model is the table's pick");
      const c = cells.find((x) => x.dataset === "magazine" && x.model === f.model && x.trainedOn === "full" && !x.selectedBy)!;
      assert.deepEqual(f.hyperParameters, c.hyperParameters);
      assert.deepEqual(c.fit && [c.fit.seconds, c.fit.peakRssMb, c.fit.dataRssMb], [f.fitSeconds, f.peakRssMb, f.dataRssMb]);
    }
    // ∞-AE's 3092² user kernel and its solve take more than EASE's 1305² item Gram.
    const own = (m: string) => report.fits.find((f) => f.model === m)!;
    assert.ok(own("inf-ae").peakRssMb - own("inf-ae").dataRssMb > own("ease").peakRssMb - own("ease").dataRssMb);
    assert.equal(cells.filter((c) => c.dataset === "magazine" && c.fit).length, 3, "only the measured rows have a fit");
    const md = readFileSync(join(dir, "table-beyond.md"), "utf8");
    const magazine = md.slice(md.indexOf("## magazine"), md.indexOf("## douban"));
    assert.match(magazine, /\| seconds \| fit s \| peak RSS MB \| fit's own MB \|/);
    assert.match(magazine, /\| ease \| full \|.*\| \d+\.\d \| \d+ \| \d+ \|\n/);
    assert.match(magazine, /\| edlae \| full \|.*\| – \| – \| – \|\n/);
    assert.match(magazine, /one fit at the pick in a fresh process .* 1-minute load average \d+\.\d\d–\d+\.\d\d\./);
    assert.doesNotMatch(md.slice(md.indexOf("## douban")), /fit s/, "datasets without fits keep their columns");
    assert.match(readFileSync(join(dir, "table-beyond.csv"), "utf8").split("\n")[0], /,selected_by,fit_seconds,peak_rss_mb,data_rss_mb$/);
    assert.match(readFileSync(`${out}.md`, "utf8"), /\| ease \| ease \| \{"lambda":500\} \|.*\| 1\.00 \|/);
  });
  const bad = spawnSync(process.execPath, ["--import", "tsx", "bench/beyond-fit.ts", "--quick", "--models", "pop"], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no magazine row trained on full data for pop/);
});
