/**
 * Small float32 graphs of DISTILL-CF's step on a GPU (fast-step.ts's device
 * path), for the μ × I products that used to run in float64 on the host:
 *
 *   sum             Y = A + B (the batch blocks' dα and dX̂ summed on the device)
 *   support_bwd     DX = DS + W + GSS·X̂ + C ⊙ X̂ + PEN
 *
 * support_bwd assembles ∂loss/∂X̂ from the batch stage's K_BS term DS, the
 * solve's W = A⁻¹·dα (the target adjoint, Y = X̂), the K_SS adjoint's
 * G = (dK ⊙ f_xy) + (dK ⊙ f_xy)ᵀ (μ × μ, from the host), the row-norm
 * coefficients C_j = 2·(h_j + g_j) (μ × 1) and the cardinality penalty's
 * constant gradient PEN: the sums of fast-step.ts's addNormTerm,
 * solveBackward and supportGramBackward in one pass.
 */
import { GraphBuilder, type GraphSpec, sharedGraphSpec } from "../onnx/builder.ts";

function sumGraph(): Uint8Array {
  const g = new GraphBuilder("distill_dev_sum");
  const a = g.input("A", "float32", ["m", "n"]);
  const b = g.input("B", "float32", ["m", "n"]);
  g.output(g.op("Add", [a, b]), "Y", "float32", ["m", "n"]);
  return g.toBytes();
}

function supportBackwardGraph(): Uint8Array {
  const g = new GraphBuilder("distill_dev_support_bwd");
  const ds = g.input("DS", "float32", ["mu", "items"]);
  const w = g.input("W", "float32", ["mu", "items"]);
  const x = g.input("XHAT", "float32", ["mu", "items"]);
  const gss = g.input("GSS", "float32", ["mu", "mu"]);
  const c = g.input("C", "float32", ["mu", 1]);
  const pen = g.input("PEN", "float32", [1]);
  const gx = g.op("MatMul", [gss, x]);
  const sum = g.op("Add", [g.op("Add", [ds, w]), g.op("Add", [gx, g.op("Mul", [c, x])])]);
  g.output(g.op("Add", [sum, pen]), "DX", "float32", ["mu", "items"]);
  return g.toBytes();
}

export function deviceSumSpec(): GraphSpec {
  return sharedGraphSpec("distill_dev_sum", sumGraph);
}

export function deviceSupportBackwardSpec(): GraphSpec {
  return sharedGraphSpec("distill_dev_support_bwd", supportBackwardGraph);
}
