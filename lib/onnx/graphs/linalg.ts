/**
 * Generic float32 linear-algebra graphs with dynamic shapes, for the solver
 * and for scoring (scores = K·α is plain `matmul`).
 */
import { attr, GraphBuilder } from "../builder.ts";

/** Y = X + 1 on a vector: the backend's probe that an execution provider works. */
export function probeAddGraph(): Uint8Array {
  const g = new GraphBuilder("probe_add");
  const x = g.input("X", "float32", ["n"]);
  g.op("Add", [x, g.constFloat(1)], {}, { outputs: ["Y"] });
  g.output({ name: "Y" }, "Y", "float32", ["n"]);
  return g.toBytes();
}

/** Y (m×n) = A (m×k) · B (k×n). */
export function matmulGraph(): Uint8Array {
  const g = new GraphBuilder("matmul");
  const a = g.input("A", "float32", ["m", "k"]);
  const b = g.input("B", "float32", ["k", "n"]);
  g.output(g.op("MatMul", [a, b], {}, { outputs: ["Y"] }), "Y", "float32", ["m", "n"]);
  return g.toBytes();
}

/** Y (m×n) = A (m×k) · Bᵀ with B (n×k); Gemm's transB avoids a transposed copy. */
export function matmulBtGraph(): Uint8Array {
  const g = new GraphBuilder("matmul_bt");
  const a = g.input("A", "float32", ["m", "k"]);
  const b = g.input("B", "float32", ["n", "k"]);
  g.output(g.op("Gemm", [a, b], { transB: attr.int(1) }, { outputs: ["Y"] }), "Y", "float32", ["m", "n"]);
  return g.toBytes();
}

/** Y (m×n) = C − A·Bᵀ with A (m×k), B (n×k): the Cholesky trailing update. */
export function gemmUpdateGraph(): Uint8Array {
  const g = new GraphBuilder("gemm_update");
  const c = g.input("C", "float32", ["m", "n"]);
  const a = g.input("A", "float32", ["m", "k"]);
  const b = g.input("B", "float32", ["n", "k"]);
  const y = g.op("Gemm", [a, b, c], { alpha: attr.float(-1), beta: attr.float(1), transB: attr.int(1) }, { outputs: ["Y"] });
  g.output(y, "Y", "float32", ["m", "n"]);
  return g.toBytes();
}

/**
 * Y (rows × cols) = zeros with Y.flat[IDX[p]] = VAL[p]: a sparse block made dense
 * on the device, so that only its entries cross from the host (a dense ML-1M
 * block is 90 MB, and first-touching that much fresh host memory took 0.35 s in
 * a VM here). Inputs IDX (int32 flat indices, distinct), VAL (float32), SIZE
 * (int64 [1], rows·cols), SHAPE (int64 [2]). Expand makes the zeros because the
 * WebGPU EP has no ConstantOfShape kernel (it would run on the CPU).
 */
export function scatterRowsGraph(): Uint8Array {
  const g = new GraphBuilder("scatter_rows");
  const idx = g.input("IDX", "int32", ["p"]);
  const val = g.input("VAL", "float32", ["p"]);
  const size = g.input("SIZE", "int64", [1]);
  const shape = g.input("SHAPE", "int64", [2]);
  const zeros = g.op("Expand", [g.constFloat(0), size]);
  const flat = g.op("ScatterElements", [zeros, idx, val], { axis: attr.int(0) });
  g.output(g.op("Reshape", [flat, shape]), "Y", "float32", ["rows", "cols"]);
  return g.toBytes();
}

export type IdentityDType = "float32" | "int32" | "int64";

/** Y = X for any shape: the backend's upload (device output) and download (host output) of device tensors. */
export function identityGraph(dtype: IdentityDType): () => Uint8Array {
  return () => {
    const g = new GraphBuilder(`identity_${dtype}`);
    const x = g.input("X", dtype, null);
    g.op("Identity", [x], {}, { outputs: ["Y"] });
    g.output({ name: "Y" }, "Y", dtype, null);
    return g.toBytes();
  };
}
