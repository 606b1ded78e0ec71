/**
 * Registry of every ONNX graph infrec runs: name → builder. The backend builds
 * sessions from here (no file I/O, so bundles and browsers work);
 * scripts/export-models.ts writes the same bytes to models/<name>.onnx.
 */
import { ntkDiagGraph, ntkGramGraph, ntkGramNormsGraph, rowSumSqGraph } from "./gram.ts";
import { gemmUpdateGraph, matmulBtGraph, matmulGraph, probeAddGraph } from "./linalg.ts";
import {
  backwardStepGraph,
  backwardUnitStepGraph,
  choleskyPanelGraph,
  forwardStepGraph,
  forwardUnitStepGraph,
  matmulAtGraph,
} from "./solve-graphs.ts";

export const GRAPHS = {
  probe_add: probeAddGraph,
  matmul: matmulGraph,
  matmul_bt: matmulBtGraph,
  gemm_update: gemmUpdateGraph,
  row_sumsq: rowSumSqGraph,
  ntk_gram_d1: () => ntkGramGraph(1),
  ntk_gram_d2: () => ntkGramGraph(2),
  ntk_gram_norms_d1: () => ntkGramNormsGraph(1),
  ntk_gram_norms_d2: () => ntkGramNormsGraph(2),
  ntk_diag_d1: () => ntkDiagGraph(1),
  ntk_diag_d2: () => ntkDiagGraph(2),
  matmul_at: matmulAtGraph,
  cholesky_panel: choleskyPanelGraph,
  cholesky_forward_step: forwardStepGraph,
  cholesky_backward_step: backwardStepGraph,
  cholesky_forward_unit_step: forwardUnitStepGraph,
  cholesky_backward_unit_step: backwardUnitStepGraph,
} satisfies Record<string, () => Uint8Array>;

export type GraphName = keyof typeof GRAPHS;

export function isGraphName(name: string): name is GraphName {
  return Object.prototype.hasOwnProperty.call(GRAPHS, name);
}

const cache = new Map<GraphName, Uint8Array>();

/** The model bytes of a registered graph (built once, then cached). */
export function graphBytes(name: GraphName): Uint8Array {
  if (!isGraphName(name)) throw new Error(`unknown ONNX graph "${String(name)}" (known: ${Object.keys(GRAPHS).join(", ")})`);
  let bytes = cache.get(name);
  if (bytes === undefined) {
    bytes = GRAPHS[name]();
    cache.set(name, bytes);
  }
  return bytes;
}
