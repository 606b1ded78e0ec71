/**
 * scripts/figure10.ts (Figure 2 with MVAE): real MultVAE fits on samples of a
 * small planted dataset through the figures' sweep with --quick's MVAE grid,
 * then the script itself redrawing its chart from that JSON (--replot).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import { baselineGrid } from "../../lib/models/grids.ts";
import { samplingSweep } from "../../lib/sampling/experiment.ts";
import { HeadUserSampler, UserRandomSampler } from "../../lib/sampling/heuristic.ts";
import { modelSpec, parseFigureArgs } from "../../scripts/figures-common.ts";
import { withTempDir } from "../helpers.ts";
import { plantedDataset } from "../models/synthetic.ts";

test("figure10: MVAE with its quick grid on sampled users, drawn by the script's --replot", async () => {
  await withTempDir(async (dir) => {
    const ctx = parseFigureArgs("figure10", { datasets: ["ml-1m"], samplers: ["user-random"], quickSamplers: ["user-random"] }, ["node", "figure10", "--quick", "--quiet"])!;
    const spec = modelSpec(ctx, "multvae");
    assert.deepEqual(spec.grid, baselineGrid("multvae", { size: "small", quick: true }));
    const ds = plantedDataset(80, 24, 4, 10, 3);
    const runs = await samplingSweep({ dataset: ds, datasetLabel: "planted", samplers: [new UserRandomSampler(), new HeadUserSampler()], budgets: [20], models: [spec] });
    assert.deepEqual(runs.map((r) => `${r.sampler}:${r.budgetUsers}:${r.model}`), ["full:80:multvae", "user-random:20:multvae", "head-user:20:multvae"]);
    for (const r of runs) {
      assert.equal(r.hyperParameters.hidden, "100"); // the quick candidate, as MultVAE reports it
      for (const m of ["HR@10", "PSP@10", "NDCG@100"]) assert.ok(r.metrics[m] >= 0 && r.metrics[m] <= 100, `${r.sampler} ${m} ${r.metrics[m]}`);
    }
    // Planted clusters: MVAE on all 80 users ranks well above chance (10 of 24 items is ~40% HR@10 at random).
    assert.ok(runs[0].metrics["HR@10"] > 55, `full HR@10 ${runs[0].metrics["HR@10"]}`);
    writeFileSync(join(dir, "figure10.json"), JSON.stringify({ figure: "figure10", quick: false, runs }) + "\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/figure10.ts", "--replot", "--datasets", "planted", "--samplers", "user-random,head-user", "--out", dir, "--quiet"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const svg = readFileSync(join(dir, "figure10.svg"), "utf8");
    assert.match(svg, /Figure 10: MVAE trained on sampled users/);
    assert.match(svg, /dashed: MVAE trained on all users/);
    assert.ok(existsSync(join(dir, "figure10.png")));
  });
});
