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
