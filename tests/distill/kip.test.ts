/**
 * Learned-target summaries (lib/distill/kip.ts): ∞-AE fitted on (X̂, Y) is
 * ∞-AE on X̂ when Y = X̂, uses Y otherwise, and Y round-trips through its file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { loadTargets, saveTargets, TargetedInfiniteAE } from "../../lib/distill/kip.ts";
import { denseRowsToMatrix } from "../../lib/distill/summary.ts";
import { InfiniteAEFloat64 } from "../../lib/models/infinite-ae/float64.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr, withTempDir } from "../helpers.ts";

const MU = 6;
const ITEMS = 15;

function support(seed: number): Float32Array {
  const rand = lcg(seed);
  return new Float32Array(MU * ITEMS).map(() => 0.05 + 0.9 * rand());
}

test("TargetedInfiniteAE with Y = X̂ scores as InfiniteAEFloat64; other targets change the scores", async () => {
  const backend = await getBackend({ device: "cpu" });
  const xs = support(2);
  const train = denseRowsToMatrix(xs, MU, ITEMS);
  const context = denseRowsToMatrix(new Float32Array(4 * ITEMS).map((_, p) => (p % 3 === 0 ? 1 : 0)), 4, ITEMS);
  const plain = new InfiniteAEFloat64({ lambda: 0.1, depth: 1, backend });
  await plain.fit(train);
  const same = new TargetedInfiniteAE({ lambda: 0.1, depth: 1, targets: Float64Array.from(xs), backend });
  await same.fit(train);
  const a = new Float32Array(4 * ITEMS);
  const b = new Float32Array(4 * ITEMS);
  await plain.scoreBlock(context, 0, 4, a);
  await same.scoreBlock(context, 0, 4, b);
  assert.ok(relErr(b, a) <= 1e-6, `rel err ${relErr(b, a)}`);
  const other = new TargetedInfiniteAE({ lambda: 0.1, depth: 1, targets: Float64Array.from(support(9)), backend });
  await other.fit(train);
  await other.scoreBlock(context, 0, 4, b);
  assert.ok(relErr(b, a) > 1e-2);
  await assert.rejects(new TargetedInfiniteAE({ lambda: 0.1, depth: 1, targets: new Float64Array(3), backend }).fit(train), /3 targets for 6×15 inputs/);
});

test("targets file: save, load, and a corrupt file is refused", () => {
  withTempDir((dir) => {
    const path = join(dir, "s.targets");
    const y = Float64Array.from(support(4), (x) => 2 * x - 0.5);
    saveTargets(path, { dataset: "planted", mu: MU, items: ITEMS, summary: "s.infrec-summary" }, y);
    const back = loadTargets(path);
    assert.equal(back.header.mu, MU);
    assert.equal(back.header.summary, "s.infrec-summary");
    assert.deepEqual(back.values, Float32Array.from(y));
    writeFileSync(path, "INFREC-SUMMARY\n\0xxxx");
    assert.throws(() => loadTargets(path), /not an infrec targets file/);
  });
});
