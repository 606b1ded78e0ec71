/**
 * The NTK Gram for blocks of users. The float32 evaluation runs as ONNX graphs
 * (lib/onnx/graphs/gram.ts: blocked rows, exact diagonal for K(X, X)); the
 * float64 reference is lib/kernel/ntk.ts. This module adds the sparse-side
 * helpers the models need.
 */
import type { InteractionMatrix } from "../data/matrix.ts";

export { ntkDiag, ntkGram, type NtkGramOptions } from "../onnx/graphs/gram.ts";

/** Σx² per user of a sparse matrix, for rows [start, end) (the Gram's row norms, without densifying). */
export function sparseRowSumSq(m: InteractionMatrix, start = 0, end = m.numUsers): Float32Array {
  const out = new Float32Array(end - start);
  for (let u = start; u < end; u++) {
    let s = 0;
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) s += m.values[p] * m.values[p];
    out[u - start] = s;
  }
  return out;
}
