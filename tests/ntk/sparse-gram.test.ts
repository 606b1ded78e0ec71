/**
 * lib/ntk/sparse-gram.ts: the ∞-AE kernels of sparse rows, computed by
 * densified blocks, against ntkGram / nngpGram on the dense rows (the same
 * graphs: equal up to the last bit) and the float64 references (relative error ≤ 1e-5;
 * measured ≈ 2e-7).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { ntkGram, sparseRowSumSq } from "../../lib/ntk/gram.ts";
import { nngpGram } from "../../lib/ntk/nngp-graph.ts";
import { nngpGramReference } from "../../lib/ntk/nngp.ts";
import { ntkGramReference } from "../../lib/ntk/ntk.ts";
import { kernelCrossOfRows, kernelGramOfRows } from "../../lib/ntk/sparse-gram.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { binaryRows, maxRelError, weightedRows } from "../onnx/helpers.ts";

const d = 47;

function sparse(dense: Float32Array, n: number): InteractionMatrix {
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < n; u++) {
    for (let i = 0; i < d; i++) {
      const v = dense[u * d + i];
      if (v !== 0) users.push(u), items.push(i), values.push(v);
    }
  }
  return InteractionMatrix.fromTriplets(n, d, users, items, values);
}

for (const kernel of ["ntk", "nngp"] as const) {
  for (const rows of ["binary", "weighted"] as const) {
    test(`${kernel} of sparse rows (${rows}): K(X, X) and K(A, X) by blocks equal the dense Gram and the float64 reference`, async () => {
      const be = await getBackend({ device: "cpu" });
      const n = 37;
      const na = 11;
      const dense = rows === "binary" ? binaryRows(n, d, 0.2, 5, [4]) : weightedRows(n, d, 0.3, 6, [4]);
      const x = sparse(dense, n);
      const a = rows === "binary" ? binaryRows(na, d, 0.25, 7, [1]) : weightedRows(na, d, 0.3, 8, [1]);
      for (const depth of [1, 2]) {
        const gram = kernel === "ntk" ? ntkGram : nngpGram;
        const reference = kernel === "ntk" ? ntkGramReference : nngpGramReference;
        const denseSelf = await gram(be, dense, n, dense, n, d, { depth });
        const denseCross = await gram(be, a, na, dense, n, d, { depth, bSumSq: sparseRowSumSq(x) });
        // Ragged blocks: 37 = 3·10 + 7 rows; one block; the default.
        for (const block of [10, 64, undefined]) {
          const self = await kernelGramOfRows(be, kernel, x, { depth, block });
          const cross = await kernelCrossOfRows(be, kernel, a, na, x, sparseRowSumSq(x), { depth, block });
          const what = `${kernel} depth ${depth}, ${rows}, block ${block}`;
          for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(self[i * n + j], self[j * n + i], `${what}: K not symmetric`);
          // The same graph on the same values; the elementwise tail's vector code depends on the
          // tensor's shape, so entries may differ in the last bit (measured ≤ 1.9e-7 relative).
          const selfErr = maxRelError(self, denseSelf);
          const crossErr = maxRelError(cross, denseCross);
          assert.ok(selfErr <= 1e-6 && crossErr <= 1e-6, `${what}: against the dense Gram ${selfErr}, ${crossErr}`);
          const refSelf = maxRelError(self, reference(dense, n, dense, n, d, depth));
          const refCross = maxRelError(cross, reference(a, na, dense, n, d, depth));
          assert.ok(refSelf <= 1e-5 && refCross <= 1e-5, `${what}: against float64 ${refSelf}, ${refCross}`);
        }
      }
    });
  }
}

test("sparse-row Grams: wrong shapes and blocks are refused", async () => {
  const be = await getBackend({ device: "cpu" });
  const x = sparse(binaryRows(5, d, 0.3, 9), 5);
  await assert.rejects(kernelGramOfRows(be, "ntk", x, { out: new Float32Array(24) }), /out has 24 values, need 5×5/);
  await assert.rejects(kernelGramOfRows(be, "ntk", x, { block: 0 }), /block must be a positive integer/);
  await assert.rejects(kernelCrossOfRows(be, "nngp", new Float32Array(d), 2, x, sparseRowSumSq(x)), /A has 47 values \(want 2×47\)/);
  await assert.rejects(kernelCrossOfRows(be, "ntk", new Float32Array(d), 1, x, new Float32Array(4)), /xSumSq has 4 values, need 5/);
});
