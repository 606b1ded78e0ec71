/**
 * The engine's own graphs: name → builder (generic products and the blocked
 * Cholesky steps; pure builders, no session code). The backend builds
 * sessions from here (no file I/O, so bundles and browsers work). Domain
 * folders bring their own GraphSpecs (lib/ntk/gram-graph.ts);
 * scripts/export-models.ts writes both to models/<name>.onnx.
 */
import { gemmUpdateGraph, identityGraph, matmulBtGraph, matmulGraph, probeAddGraph, scatterRowsGraph } from "./linalg.ts";
import {
  backwardStepGraph,
  backwardUnitStepGraph,
  choleskyPanelGraph,
  forwardStepGraph,
  forwardUnitStepGraph,
  matmulAtGraph,
} from "./cholesky.ts";

export const GRAPHS = {
  probe_add: probeAddGraph,
  identity_float32: identityGraph("float32"),
  identity_int32: identityGraph("int32"),
  identity_int64: identityGraph("int64"),
  scatter_rows: scatterRowsGraph,
  matmul: matmulGraph,
  matmul_bt: matmulBtGraph,
  gemm_update: gemmUpdateGraph,
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
