import assert from "node:assert/strict";
import { test } from "node:test";
import { BASELINE_NAMES, type BaselineName, baselineGrid, buildBaseline, PAPER_NDCG10 } from "../../lib/models/grids.ts";

test("every grid candidate builds a baseline with that name; quick grids hold one candidate", () => {
  for (const name of BASELINE_NAMES) {
    for (const size of ["small", "large"] as const) {
      const grid = baselineGrid(name, { size });
      assert.ok(grid.length >= 1 && grid.length <= 8, `${name}/${size}: ${grid.length} candidates`);
      for (const config of grid) {
        const m = buildBaseline(name, config as never);
        assert.equal(m.name, name);
        assert.ok(Object.keys(m.hyperParameters()).length > 0);
      }
      assert.equal(baselineGrid(name, { size, quick: true }).length, 1);
    }
    assert.ok(PAPER_NDCG10["ml-1m"][name] > 0 && PAPER_NDCG10["magazine"][name] > 0);
  }
  assert.throws(() => buildBaseline("svd" as BaselineName, {} as never), /unknown baseline 'svd'/);
});
