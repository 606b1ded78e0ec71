/** Float64 definitions (ml-matrix) for the graph-filter model tests: R̃, its full SVD, dense rows. */
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { Rng } from "../../lib/random.ts";

export function randomInteractions(users: number, items: number, density: number, seed: number): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < items; i++) {
      if (rng.next() < density) {
        us.push(u);
        is.push(i);
      }
    }
  }
  return InteractionMatrix.fromTriplets(users, items, us, is);
}

export function dense(x: InteractionMatrix): Matrix {
  return Matrix.from1DArray(x.numUsers, x.numItems, Float64Array.from(x.denseRows(0, x.numUsers)));
}

/** D_U^{-a} R D_I^{-b} in float64, zero degrees giving zero scales. */
export function normalised(r: Matrix, a: number, b: number): Matrix {
  const du = r.sum("row");
  const di = r.sum("column");
  const out = new Matrix(r.rows, r.columns);
  for (let i = 0; i < r.rows; i++) {
    for (let j = 0; j < r.columns; j++) {
      const v = r.get(i, j);
      if (v !== 0) out.set(i, j, v * du[i] ** -a * di[j] ** -b);
    }
  }
  return out;
}

/** Full SVD of a matrix (ml-matrix): σ decreasing, U, V. */
export function fullSvd(a: Matrix): { sigma: number[]; u: Matrix; v: Matrix } {
  const svd = new SingularValueDecomposition(a, { autoTranspose: true });
  return { sigma: svd.diagonal, u: svd.leftSingularVectors, v: svd.rightSingularVectors };
}

/** max |a − b| / max |b| over two score blocks. */
export function relativeError(model: Float32Array, reference: Matrix): number {
  const ref = reference.to1DArray();
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(model[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
}
