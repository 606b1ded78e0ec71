import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { topEigenpairs, truncatedSvd } from "../../lib/linalg/truncated-svd.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { Rng } from "../../lib/random.ts";

/** A rows × cols matrix with singular values 2^-j (a clear gap everywhere), from random orthogonal factors. */
function matrixWithSpectrum(rows: number, cols: number, seed: number): { a: Float32Array; sigma: number[] } {
  const rng = new Rng(seed);
  const random = (r: number, c: number) => Matrix.from1DArray(r, c, Array.from({ length: r * c }, () => rng.next() - 0.5));
  const u = new SingularValueDecomposition(random(rows, rows)).leftSingularVectors;
  const v = new SingularValueDecomposition(random(cols, cols)).leftSingularVectors;
  const r = Math.min(rows, cols);
  const sigma = Array.from({ length: r }, (_, j) => 2 ** -j);
  const s = Matrix.zeros(rows, cols);
  for (let j = 0; j < r; j++) s.set(j, j, sigma[j]);
  const a = u.mmul(s).mmul(v.transpose());
  return { a: Float32Array.from(a.to1DArray()), sigma };
}

/** max |P_a − P_b| of the projectors onto the span of the first k columns. */
function projectorGap(a: Matrix, b: Matrix): number {
  const pa = a.mmul(a.transpose());
  const pb = b.mmul(b.transpose());
  return pa.sub(pb).abs().max();
}

test("truncatedSvd matches ml-matrix's full SVD on a 30 × 20 matrix (σ, V and U subspaces)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const rows = 30;
  const cols = 20;
  const k = 6;
  const { a } = matrixWithSpectrum(rows, cols, 7);
  const full = new SingularValueDecomposition(Matrix.from1DArray(rows, cols, Float64Array.from(a)));
  const svd = await truncatedSvd(a, rows, cols, k, backend, { oversample: 4, iterations: 12, seed: 3 });
  let err = 0;
  for (let j = 0; j < k; j++) err = Math.max(err, Math.abs(svd.singularValues[j] - full.diagonal[j]) / full.diagonal[j]);
  assert.ok(err < 1e-5, `relative error of σ: ${err}`);
  const vGap = projectorGap(Matrix.from1DArray(cols, k, Float64Array.from(svd.right)), full.rightSingularVectors.subMatrix(0, cols - 1, 0, k - 1));
  const uGap = projectorGap(Matrix.from1DArray(rows, k, Float64Array.from(svd.left)), full.leftSingularVectors.subMatrix(0, rows - 1, 0, k - 1));
  assert.ok(vGap < 1e-5 && uGap < 1e-5, `projector gaps V ${vGap}, U ${uGap}`);
  console.log(`truncatedSvd: σ relative error ${err.toExponential(2)}, projector gaps V ${vGap.toExponential(2)}, U ${uGap.toExponential(2)}`);
});

test("topEigenpairs is exact (to float32) when the block spans the space, whatever the iterations", async () => {
  const backend = await getBackend({ device: "cpu" });
  const n = 12;
  const { a } = matrixWithSpectrum(n, n, 11);
  const am = Matrix.from1DArray(n, n, Float64Array.from(a));
  const g = am.transpose().mmul(am);
  const reference = new SingularValueDecomposition(g);
  const eig = await topEigenpairs(Float32Array.from(g.to1DArray()), n, 5, backend, { oversample: n, iterations: 0 });
  let err = 0;
  for (let j = 0; j < 5; j++) err = Math.max(err, Math.abs(eig.values[j] - reference.diagonal[j]) / reference.diagonal[j]);
  assert.ok(err < 1e-5, `relative error of the eigenvalues: ${err}`);
  // Each vector is a unit eigenvector: ‖G v − θ v‖ small.
  const v = Matrix.from1DArray(n, 5, Float64Array.from(eig.vectors));
  const residual = g.mmul(v).sub(v.mulRowVector(Array.from(eig.values))).abs().max();
  assert.ok(residual < 1e-5, `eigen residual ${residual}`);
});

test("topEigenpairs rejects bad sizes", async () => {
  const backend = await getBackend({ device: "cpu" });
  await assert.rejects(topEigenpairs(new Float32Array(9), 3, 4, backend), /k must be an integer in 1..3/);
  await assert.rejects(topEigenpairs(new Float32Array(8), 3, 1, backend), /8 values for a 3 × 3 matrix/);
});
