/**
 * Graphs for the blocked Cholesky solver (lib/linalg/cholesky.ts, ort-kernels.ts).
 *
 * L and K are passed whole (zero-copy) and the strided blocks a step needs are
 * cut out inside the graph with Slice, whose bounds are int64 inputs: one
 * session serves every step. Slice copies (n−j0)·j0 floats per factor step,
 * small next to the (n−j0)·j0·b multiply-adds that follow.
 */
import { attr, GraphBuilder, type Value } from "../builder.ts";

function sliceInputs(g: GraphBuilder, prefix: string): { starts: Value; ends: Value } {
  return { starts: g.input(`${prefix}_starts`, "int64", [2]), ends: g.input(`${prefix}_ends`, "int64", [2]) };
}

/**
 * P = K[j0:n, j0:j1] − L[j0:n, 0:j0]·L[j0:j1, 0:j0]ᵀ: the left-looking panel.
 * Bounds: k = ([j0, j0], [n, j1]), la = ([j0, 0], [n, j0]), lb = ([j0, 0], [j1, j0]).
 */
export function choleskyPanelGraph(): Uint8Array {
  const g = new GraphBuilder("cholesky_panel");
  const k = g.input("K", "float32", ["n", "n"]);
  const l = g.input("L", "float32", ["n", "n"]);
  const ks = sliceInputs(g, "k");
  const las = sliceInputs(g, "la");
  const lbs = sliceInputs(g, "lb");
  const kp = g.op("Slice", [k, ks.starts, ks.ends]);
  const la = g.op("Slice", [l, las.starts, las.ends]);
  const lb = g.op("Slice", [l, lbs.starts, lbs.ends]);
  const y = g.op("Gemm", [la, lb, kp], { alpha: attr.float(-1), beta: attr.float(1), transB: attr.int(1) }, { outputs: ["P"] });
  g.output(y, "P", "float32", ["r", "b"]);
  return g.toBytes();
}

/**
 * Forward substitution step: Y_i = D · (X_i − L[i0:i1, 0:i0]·Yprev), Yprev = Y[0:i0].
 * Bounds: l = ([i0, 0], [i1, i0]).
 */
export function forwardStepGraph(): Uint8Array {
  const g = new GraphBuilder("cholesky_forward_step");
  const l = g.input("L", "float32", ["n", "n"]);
  const x = g.input("X", "float32", ["b", "m"]);
  const yPrev = g.input("Yprev", "float32", ["i0", "m"]);
  const d = g.input("D", "float32", ["b", "b"]);
  const ls = sliceInputs(g, "l");
  const lBlock = g.op("Slice", [l, ls.starts, ls.ends]);
  const t = g.op("Gemm", [lBlock, yPrev, x], { alpha: attr.float(-1), beta: attr.float(1) });
  g.output(g.op("MatMul", [d, t], {}, { outputs: ["Y"] }), "Y", "float32", ["b", "m"]);
  return g.toBytes();
}

/**
 * Backward substitution step: α_i = Dᵀ · (Y_i − L[i1:n, i0:i1]ᵀ·Atail), Atail = α[i1:n].
 * Bounds: l = ([i1, i0], [n, i1]).
 */
export function backwardStepGraph(): Uint8Array {
  const g = new GraphBuilder("cholesky_backward_step");
  const l = g.input("L", "float32", ["n", "n"]);
  const y = g.input("Y", "float32", ["b", "m"]);
  const tail = g.input("Atail", "float32", ["t", "m"]);
  const d = g.input("D", "float32", ["b", "b"]);
  const ls = sliceInputs(g, "l");
  const lBlock = g.op("Slice", [l, ls.starts, ls.ends]);
  const t = g.op("Gemm", [lBlock, tail, y], { alpha: attr.float(-1), beta: attr.float(1), transA: attr.int(1) });
  g.output(g.op("Gemm", [d, t], { transA: attr.int(1) }, { outputs: ["A"] }), "A", "float32", ["b", "m"]);
  return g.toBytes();
}

/** Y = Aᵀ·B for A (k×m), B (k×n): the last backward step, α_i = Dᵀ·Y_i. */
export function matmulAtGraph(): Uint8Array {
  const g = new GraphBuilder("matmul_at");
  const a = g.input("A", "float32", ["k", "m"]);
  const b = g.input("B", "float32", ["k", "n"]);
  g.output(g.op("Gemm", [a, b], { transA: attr.int(1) }, { outputs: ["Y"] }), "Y", "float32", ["m", "n"]);
  return g.toBytes();
}

/** Unit-form forward step: Z_i = X_i − U[i0:i1, 0:i0]·Zprev. Bounds: u = ([i0, 0], [i1, i0]). */
export function forwardUnitStepGraph(): Uint8Array {
  const g = new GraphBuilder("cholesky_forward_unit_step");
  const u = g.input("U", "float32", ["n", "n"]);
  const x = g.input("X", "float32", ["b", "m"]);
  const zPrev = g.input("Zprev", "float32", ["i0", "m"]);
  const us = sliceInputs(g, "u");
  const uBlock = g.op("Slice", [u, us.starts, us.ends]);
  const z = g.op("Gemm", [uBlock, zPrev, x], { alpha: attr.float(-1), beta: attr.float(1) }, { outputs: ["Z"] });
  g.output(z, "Z", "float32", ["b", "m"]);
  return g.toBytes();
}

/** Unit-form backward step: α_i = W·Z_i − U[i1:n, i0:i1]ᵀ·Atail. Bounds: u = ([i1, i0], [n, i1]). */
export function backwardUnitStepGraph(): Uint8Array {
  const g = new GraphBuilder("cholesky_backward_unit_step");
  const u = g.input("U", "float32", ["n", "n"]);
  const z = g.input("Z", "float32", ["b", "m"]);
  const tail = g.input("Atail", "float32", ["t", "m"]);
  const w = g.input("W", "float32", ["b", "b"]);
  const us = sliceInputs(g, "u");
  const uBlock = g.op("Slice", [u, us.starts, us.ends]);
  const wz = g.op("MatMul", [w, z]);
  const a = g.op("Gemm", [uBlock, tail, wz], { alpha: attr.float(-1), beta: attr.float(1), transA: attr.int(1) }, { outputs: ["A"] });
  g.output(a, "A", "float32", ["b", "m"]);
  return g.toBytes();
}
