/**
 * ∞-AE with the NNGP kernel (kernel: "nngp") against a float64 reference built
 * from nngpGramReference and a float64 solve, within 1e-5 relative on both the
 * float64 path (small supports) and the float32 host path (ORT Gram, float32
 * Cholesky; measured ≤ 1.3e-6 on these well-conditioned kernels). Also: the NTK and NNGP Grams of one
 * matrix do not share a scratch entry, and the registry reaches the kernel.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { solveReference } from "../../../lib/linalg/reference.ts";
import { ridgeShift } from "../../../lib/models/infinite-ae/duals.ts";
import { InfiniteAE } from "../../../lib/models/infinite-ae/model.ts";
import { MODELS } from "../../../lib/models/registry.ts";
import { FitScratch } from "../../../lib/models/scratch.ts";
import { nngpGramReference } from "../../../lib/ntk/nngp.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { plantedDataset } from "../synthetic.ts";
import { randomBinary, blockRelError } from "../shared.ts";



/** Float64 scores K(C, X)·α of context rows C. */
function referenceScores(c: ArrayLike<number>, rows: number, x: ArrayLike<number>, n: number, m: number, alpha: Float64Array, depth: number): Float64Array {
  const k = nngpGramReference(c, rows, x, n, m, depth);
  const out = new Float64Array(rows * m);
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) for (let t = 0; t < m; t++) out[i * m + t] += k[i * n + j] * alpha[j * m + t];
  return out;
}

for (const depth of [1, 2, 3]) {
  for (const precision of ["float64", "float32"] as const) {
    const tol = 1e-5;
    test(`∞-AE NNGP depth ${depth}, ${precision} solve: duals and scores match a float64 reference within ${tol}`, async (t) => {
      const backend = await getBackend({ device: "cpu" });
      const train = randomBinary(60, 35, 0.15, 10 + depth);
      const n = train.numUsers;
      const m = train.numItems;
      const x = train.denseRows(0, n);
      const k = nngpGramReference(x, n, x, n, m, depth);
      const lambda = 0.5;
      const alphaRef = solveReference(k, n, x, m, ridgeShift(k, n, lambda));
      const model = new InfiniteAE({ lambda, depth, kernel: "nngp", backend, precision });
      await model.fit(train);
      assert.equal(model.hyperParameters().kernel, "nngp");
      assert.equal(model.hyperParameters().solve, precision);
      const errAlpha = blockRelError(model.duals.alpha, alphaRef);
      const fitted = new Float32Array(n * m);
      await model.scoreBlock(train, 0, n, fitted);
      const errFitted = blockRelError(fitted, referenceScores(x, n, x, n, m, alphaRef, depth));
      // A context that differs from the training rows (one extra item per user) takes the general path.
      const ctx = train.add(InteractionMatrix.fromTriplets(n, m, [...Array(n).keys()], [...Array(n).keys()].map((u) => (u * 5) % m)));
      const general = new Float32Array(n * m);
      await model.scoreBlock(ctx, 0, n, general);
      const errGeneral = blockRelError(general, referenceScores(ctx.denseRows(0, n), n, x, n, m, alphaRef, depth));
      t.diagnostic(`max relative error: α ${errAlpha.toExponential(2)}, fitted scores ${errFitted.toExponential(2)}, context scores ${errGeneral.toExponential(2)}`);
      assert.ok(errAlpha <= tol, `α relative error ${errAlpha}`);
      assert.ok(errFitted <= tol, `fitted scores relative error ${errFitted}`);
      assert.ok(errGeneral <= tol, `context scores relative error ${errGeneral}`);
    });
  }
}

test("∞-AE: NTK and NNGP fits in one scratch keep their own Grams", async () => {
  const train = randomBinary(40, 25, 0.2, 3);
  const scratch = new FitScratch();
  const ctx = train.add(InteractionMatrix.fromTriplets(40, 25, [0, 1, 2], [3, 4, 5]));
  const scores = async (kernel: "ntk" | "nngp", shared?: FitScratch): Promise<Float32Array> => {
    const model = new InfiniteAE({ lambda: 1, kernel, precision: "float32", scratch: shared });
    await model.fit(train);
    const out = new Float32Array(40 * 25);
    await model.scoreBlock(ctx, 0, 40, out);
    return out;
  };
  const ntkShared = await scores("ntk", scratch);
  const nngpShared = await scores("nngp", scratch);
  assert.deepEqual(nngpShared, await scores("nngp"));
  assert.deepEqual(ntkShared, await scores("ntk"));
  assert.ok(blockRelError(nngpShared, ntkShared) > 1e-3, "the two kernels give different scores");
});

test("∞-AE NNGP: the registry's inf-ae-nngp and inf-ae-fine grids, the kernel as a grid key, no device engine or artifact", async () => {
  const ds = plantedDataset(80, 24);
  const nngp = MODELS["inf-ae-nngp"].gridFor(ds);
  assert.ok(nngp.every((p) => p.kernel === "nngp"));
  const fine = MODELS["inf-ae-fine"].gridFor(ds);
  assert.deepEqual([...new Set(fine.map((p) => p.depth))], [1, 2, 3]);
  assert.ok(fine.some((p) => Number(p.lambda) > 0 && Number(p.lambda) < 1), "λ below 1");
  assert.ok(fine.every((p) => p.kernel === "ntk"), "inf-ae-fine is the NTK");
  // The paper's grid stays inf-ae's default (Table 1).
  assert.deepEqual(MODELS["inf-ae"].gridFor(ds).map((p) => p.lambda), [0, 1, 5, 20, 50, 100]);
  const model = MODELS["inf-ae"].build({ lambda: 1, depth: 2, kernel: "nngp" }) as InfiniteAE;
  assert.equal(model.kernel, "nngp");
  assert.throws(() => MODELS["inf-ae"].build({ lambda: 1, kernel: "rbf" }), /kernel must be one of ntk, nngp/);
  await assert.rejects(new InfiniteAE({ lambda: 1, kernel: "nngp", engine: "device", precision: "float32" }).fit(ds.train), /host engine only/);
  await model.fit(ds.train);
  await assert.rejects(model.toArtifact({ itemIds: ds.itemIds }), /NTK models only/);
});
