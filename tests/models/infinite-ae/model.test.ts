import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { ntkGramReference } from "../../../lib/ntk/ntk.ts";
import { solveReference } from "../../../lib/linalg/reference.ts";
import { ridgeShift } from "../../../lib/models/infinite-ae/duals.ts";
import { InfiniteAE } from "../../../lib/models/infinite-ae/model.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { blockRelError, checkSubsetFoldIn, randomBinary } from "../shared.ts";



for (const depth of [1, 2]) {
  test(`∞-AE depth ${depth}: duals and scores match a float64 reference`, async (t) => {
    const backend = await getBackend({ device: "cpu" });
    const train = randomBinary(70, 40, 0.15, depth);
    const n = train.numUsers;
    const m = train.numItems;
    const x = train.denseRows(0, n);
    const k = ntkGramReference(x, n, x, n, m, depth);
    const lambda = 5;
    const alphaRef = solveReference(k, n, x, m, ridgeShift(k, n, lambda));
    const model = new InfiniteAE({ lambda, depth, backend, precision: "float32" });
    await model.fit(train);
    const errAlpha = blockRelError(model.duals.alpha, alphaRef);
    assert.ok(errAlpha < 1e-4, `α relative error ${errAlpha}`);
    // Validation path (context = training matrix): X − c·α.
    const fast = new Float32Array(n * m);
    await model.scoreBlock(train, 0, n, fast);
    // General path on a different context (training rows plus one item each).
    const ctx = train.add(InteractionMatrix.fromTriplets(n, m, [...Array(n).keys()], [...Array(n).keys()].map((u) => (u * 7) % m)));
    const general = new Float32Array(n * m);
    await model.scoreBlock(ctx, 0, n, general);
    const c = ctx.denseRows(0, n);
    const kc = ntkGramReference(c, n, x, n, m, depth);
    const want = new Float64Array(n * m);
    const wantFast = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        for (let t = 0; t < m; t++) {
          want[i * m + t] += kc[i * n + j] * alphaRef[j * m + t];
          wantFast[i * m + t] += k[i * n + j] * alphaRef[j * m + t];
        }
      }
    }
    const errFast = blockRelError(fast, wantFast);
    const errGeneral = blockRelError(general, want);
    assert.ok(errFast < 1e-4, `validation scores relative error ${errFast}`);
    assert.ok(errGeneral < 1e-4, `context scores relative error ${errGeneral}`);
    t.diagnostic(`max relative error: α ${errAlpha.toExponential(2)}, validation scores ${errFast.toExponential(2)}, context scores ${errGeneral.toExponential(2)}`);
  });
}

test("∞-AE with a support budget uses that many users and still scores everyone", async () => {
  const train = randomBinary(50, 30, 0.2, 9);
  const model = new InfiniteAE({ lambda: 1, support: 20, precision: "float32" });
  await model.fit(train, { seed: 4 });
  assert.equal(model.duals.support?.length, 20);
  const out = new Float32Array(50 * 30);
  await model.scoreBlock(train, 0, 50, out);
  assert.ok(out.every(Number.isFinite));
});

test("∞-AE at λ = 0 on duplicate users is a SingularKernelError, not garbage", async () => {
  const m = InteractionMatrix.fromTriplets(4, 5, [0, 1, 2, 3, 0, 1], [0, 0, 1, 2, 3, 3]);
  await assert.rejects(new InfiniteAE({ lambda: 0, precision: "float32" }).fit(m), (e: Error) => e.name === "SingularKernelError");
  await assert.rejects(new InfiniteAE({ lambda: 0, precision: "float64" }).fit(m), (e: Error) => e.name === "SingularKernelError");
});

test("∞-AE rejects bad hyper-parameters and empty data", async () => {
  assert.throws(() => new InfiniteAE({ lambda: -1 }), /λ must be finite and ≥ 0/);
  assert.throws(() => new InfiniteAE({ lambda: 1, depth: 0 }), /depth/);
  await assert.rejects(new InfiniteAE({ lambda: 1 }).fit(InteractionMatrix.empty(3, 4)), /no interactions/);
});

test("∞-AE trained on a weighted 60-user subset scores all users well", async () => {
  await checkSubsetFoldIn(() => new InfiniteAE({ lambda: 1 }));
});

test("a grid's dropped fits hand their α buffers to later fits; the kept best's duals are its own", async () => {
  const { gridSearch } = await import("../../../lib/eval/grid.ts");
  const { plantedDataset } = await import("../synthetic.ts");
  const ds = plantedDataset(120, 40, 4, 10, 3);
  const lambdas = [50, 5, 1, 0.5]; // validation tends to improve along the grid, so earlier bests are dropped
  const result = await gridSearch(ds, lambdas, (lambda) => new InfiniteAE({ lambda, precision: "float32" }), { keepBest: true });
  const best = result.model as InfiniteAE;
  const kept = Float32Array.from(best.duals.alpha);
  const fresh = new InfiniteAE({ lambda: best.lambda, precision: "float32" });
  await fresh.fit(ds.train);
  assert.deepEqual([...kept], [...fresh.duals.alpha], "the kept model's α equals a fresh fit's");
  // Fits after the grid (they may reuse pooled buffers) leave the kept model alone.
  for (const lambda of [2, 7]) {
    const m = new InfiniteAE({ lambda, precision: "float32" });
    await m.fit(ds.train);
    m.dispose();
  }
  assert.deepEqual([...best.duals.alpha], [...kept]);
  fresh.dispose();
  assert.throws(() => fresh.duals, /call fit first/, "a disposed model gives up its duals");
});
