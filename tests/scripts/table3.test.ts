/**
 * scripts/table3.ts (the paper's Table 3) on Magazine: grids from the model
 * registry, picks from figure JSONs and a table1.json with their sources, and
 * a pick outside today's grid flagged rather than passed off as searched.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../lib/data/registry.ts";
import { INFINITE_AE_LAMBDAS, MODELS, SUMMARY_EASE_LAMBDAS } from "../../lib/models/registry.ts";
import type { SampledRun } from "../../lib/sampling/experiment.ts";
import { describeGrid, runTable3, valuesOutsideGrid } from "../../scripts/table3.ts";
import { withTempDir } from "../helpers.ts";

const run = (sampler: string, budgetUsers: number, model: string, hyperParameters: SampledRun["hyperParameters"], noise = 0) =>
  ({ dataset: "magazine", noise, sampler, budgetUsers, model, hyperParameters }) as SampledRun;

test("table3: registry grids, picks with their sources, md/csv/json", async () => {
  await withTempDir(async (dir) => {
    const figures = join(dir, "figures");
    mkdirSync(join(figures, "magazine"), { recursive: true });
    const fig1 = [run("full", 3092, "inf-ae", { lambda: 20, depth: 1 }), run("full", 3092, "inf-ae", { lambda: 5, depth: 1 }, 5), run("distill-cf", 500, "inf-ae", { lambda: 0.001, depth: 1 })];
    writeFileSync(join(figures, "magazine", "figure1.json"), JSON.stringify({ figure: "figure1", runs: fig1 }));
    writeFileSync(join(figures, "magazine", "figure2.json"), JSON.stringify({ figure: "figure2", runs: [run("full", 3092, "ease", { lambda: 500 }), run("distill-cf", 500, "ease", { lambda: 2 })] }));
    writeFileSync(join(dir, "table1.json"), JSON.stringify({ cells: [{ dataset: "magazine", model: "mf", hyperParameters: { dim: 64, reg: 0.01 } }] }));
    const rows = await runTable3({ datasets: ["magazine"], figures, table1: join(dir, "table1.json"), quick: true, out: dir });
    const byModel = Object.fromEntries(rows.map((r) => [r.model, r]));
    const ds = await loadDataset("magazine");

    const inf = byModel["∞-AE"];
    assert.equal(inf.grid, `lambda ∈ {${INFINITE_AE_LAMBDAS.join(", ")}}; depth = 1`);
    assert.equal(inf.candidates, MODELS["inf-ae"].gridFor(ds).length);
    assert.equal(inf.picked, "lambda = 20; depth = 1"); // the clean run, not the 5%-noise one
    assert.match(inf.pickSource, /figure1\.json \(figure1, full data\)/);
    assert.equal(byModel.MF.picked, "dim = 64; reg = 0.01");
    assert.match(byModel.MF.pickSource, /table1\.json \(table1\)/);
    assert.equal(byModel.MF.grid, describeGrid(MODELS.mf.gridFor(ds)));
    assert.match(byModel.MF.gridSource, /lib\/models\/grids\.ts \(small dataset\)/);
    assert.equal(byModel.LightGCN.picked, "not in the result files read");
    assert.equal(byModel.PopRec.picked, "the only candidate");
    assert.equal(byModel["DISTILL-CF + ∞-AE"].picked, "lambda = 0.001; depth = 1");
    assert.match(byModel["DISTILL-CF + ∞-AE"].grid, /^DISTILL-CF: μ = 500; γ = 200; τ = 10;/);
    // EASE on a summary picked λ = 2, which the summary grid does not have.
    assert.match(byModel["EASE on DISTILL-CF summaries (Figure 2)"].picked, /^lambda = 2 \(lambda = 2 not in this grid: the recorded run searched a different one\)$/);
    assert.equal(byModel["MVAE on DISTILL-CF summaries (Figure 10)"].pickSource, `no DISTILL-CF μ = 500 run of multvae in ${join(figures, "magazine")} or ${join(dir, "table1.json")}`);

    const md = readFileSync(join(dir, "table3-quick.md"), "utf8");
    assert.match(md, /\| ∞-AE \| 6 \| lambda ∈ \{0, 1, 5, 20, 50, 100\}; depth = 1 \| lib\/models\/registry\.ts \| lambda = 20; depth = 1 \|/);
    const csv = readFileSync(join(dir, "table3-quick.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "dataset,model,candidates,grid,grid_source,picked,pick_source");
    assert.equal(csv.length, rows.length + 1);
    assert.equal(JSON.parse(readFileSync(join(dir, "table3-quick.json"), "utf8")).rows.length, rows.length);
  });
});

test("table3: a recorded list value (MVAE's hidden = '200') matches the grid's [200]; others are flagged", () => {
  const grid = [{ hidden: [200] as unknown as number, lr: 0.001 }, { hidden: [200] as unknown as number, lr: 0.003 }];
  assert.deepEqual(valuesOutsideGrid({ hidden: "200", lr: 0.003, epochsRun: 40 }, grid), []);
  assert.deepEqual(valuesOutsideGrid({ hidden: "100", lr: 0.01 }, grid), ["hidden = 100", "lr = 0.01"]);
  assert.deepEqual(valuesOutsideGrid({ lambda: 500 }, SUMMARY_EASE_LAMBDAS.map((lambda) => ({ lambda }))), ["lambda = 500"]);
});
