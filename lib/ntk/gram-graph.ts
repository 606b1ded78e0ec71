/**
 * The ∞-AE kernel (docs/protocol.md §1, float64 reference in lib/ntk/ntk.ts) as
 * float32 ONNX graphs on blocks of users:
 *
 *   ntk_gram_d{L}        A (na×d), B (nb×d)                 → K (na×nb)
 *   ntk_gram_norms_d{L}  A, B, SA (na), SB (nb) = Σx² per row → K (na×nb)
 *   ntk_diag_d{L}        A (na×d)                            → K (na) = K(x, x)
 *   row_sumsq            A (na×d)                            → S (na) = Σx² per row
 *
 * The depth L is baked into each graph (L = 1, 2 registered and exported to
 * models/; `ntkGram` builds other depths on demand). d is read from A's shape.
 * The diagonal terms come from Σx² (not nnz) so weighted rows work too.
 * `ntkGram` below runs these in row blocks into a caller's buffer; use it
 * rather than the raw graphs for K(X, X) of weighted rows (see below).
 *
 * Numerics. Θ depends on t = arccos(c), which is ill-conditioned at c ≈ 1
 * (dt = dc / sin t): a float32 c = 1 − 6e-8 instead of 1 moves K by ~1e-4
 * relative. The rules below are arranged so that identical rows give c = 1
 * exactly, at every depth: ⟨x,x⟩ from the MatMul and Σx² from ReduceSumSquare
 * agree exactly for binary rows, q and qx then go through identical ops,
 * √(qx·qx) = qx exactly in IEEE arithmetic, and each ReLU step is written so
 * that at t = 0 it yields exactly the diagonal's value (e.g. q' = q/2 + (‖·‖ sin t
 * − q t)/(2π); the textbook ‖·‖(sin t + (π − t)c)/(2π) is off by an ulp there). Empty rows have qx = 0.01 after the
 * first dense layer, so the division is safe. For weighted rows the MatMul's
 * ⟨x,x⟩ and Σx² differ in the last bit, so the raw graph's K(X, X) diagonal is
 * off by up to ~1e-4 (measured 7.7e-5 at depth 1, 1.5e-4 at depth 2);
 * `ntkGram` overwrites that diagonal from ntk_diag_d{L}. Distinct rows are
 * accurate to ≈ 3e-7 (relative, vs float64).
 */
import { attr, GraphBuilder, type GraphSpec, graphSpec, identityLike, sharedGraphSpec, type Value } from "../onnx/builder.ts";
import { B_STD2, W_STD2 } from "./ntk.ts";

/**
 * x₁ + x₂ + … as one variadic Sum (one pass: the exported CPU graphs) or as
 * chained Adds in the same order (`portable`: ORT 1.30's WebGPU EP has no Sum
 * kernel, so a Sum over n × n would run on the CPU).
 */
function sumOf(g: GraphBuilder, inputs: Value[], portable: boolean): Value {
  if (!portable) return g.op("Sum", inputs);
  return inputs.slice(1).reduce((acc, v) => g.op("Add", [acc, v]), inputs[0]);
}

const INV_2PI = 1 / (2 * Math.PI);
const INV_PI = 1 / Math.PI;

/** Depths with registered graphs (models/ntk_*_d{L}.onnx); ntkGram builds others on demand. */
export const NTK_DEPTHS = [1, 2] as const;

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`ntk graph: depth must be an integer ≥ 1, got ${depth}`);
}

/**
 * Scalars from A's second dimension d: a = W_std²/d and h = d·b_std²/W_std², so
 * that after the first dense layer q = a·(⟨x,y⟩ + h) (likewise qx, qy).
 */
function scales(g: GraphBuilder, x: Value): { a: Value; h: Value } {
  const d = g.op("Shape", [x], { start: attr.int(1), end: attr.int(2) });
  const dF = g.op("Cast", [d], { to: attr.int(1) });
  return {
    a: g.op("Div", [g.constFloat(W_STD2), dF]),
    h: g.op("Mul", [dF, g.constFloat(B_STD2 / W_STD2)]),
  };
}

/**
 * The kernel from the raw inner products: xy (na×nb), sa (na×1), sb (nb) are
 * ⟨x,y⟩, Σx², Σy². Mirrors ntk.ts's ntkFromDots layer by layer.
 *
 * The first layer works on Q = ⟨x,y⟩ + h, N = √((Σx²+h)(Σy²+h)), i.e. q and its
 * norm divided by a, which saves full-size passes (each elementwise pass over
 * na×nb entries costs a few percent of the MatMul on CPU). The
 * last ReLU is fused with the read-out: K = u + (‖·‖ sin t − u t)/π + b, u = q + Θ.
 * Depth 1 costs 12 elementwise passes over na×nb after the MatMul.
 */
function kernelNodes(g: GraphBuilder, xy: Value, sa: Value, sb: Value, sc: { a: Value; h: Value }, depth: number, out: string, portable = false): Value {
  checkDepth(depth);
  const pi = g.constFloat(Math.PI);
  // Created on first use: depth 1 needs neither (an unused initializer makes ORT warn).
  let twoConst: Value | undefined;
  let halfConst: Value | undefined;
  const two = (): Value => (twoConst ??= g.constFloat(W_STD2));
  const half = (): Value => (halfConst ??= g.constFloat(0.5));
  const angle = (q: Value, qx: Value, qy: Value): { t: Value; normSin: Value } => {
    const norm = g.op("Sqrt", [g.op("Mul", [qx, qy])]);
    const c = g.op("Clip", [g.op("Div", [q, norm]), g.constFloat(-1), g.constFloat(1)]);
    const t = g.op("Acos", [c]);
    return { t, normSin: g.op("Mul", [norm, g.op("Sin", [t])]) };
  };

  // Layer 1 (dense + ReLU) in units of a: Q, Nx, Ny.
  const Q = g.op("Add", [xy, sc.h]);
  const Nx = g.op("Add", [sa, sc.h]);
  const Ny = g.op("Add", [sb, sc.h]);
  const first = angle(Q, Nx, Ny);
  const Qr = g.op("Mul", [Q, g.op("Sub", [pi, first.t])]); // Q (π − t)
  if (depth === 1) {
    // K = 2q + (‖·‖ sin t − 2q t)/π + b = (a/π)(N sin t + 2 Q (π − t) + bπ/a):
    // the variadic Sum does the three additions in one pass over na×nb.
    const y = sumOf(g, [first.normSin, Qr, Qr, g.op("Div", [g.constFloat(B_STD2 * Math.PI), sc.a])], portable);
    return g.op("Mul", [y, g.op("Mul", [sc.a, g.constFloat(INV_PI)])], {}, { outputs: [out] });
  }
  // After ReLU 1: q = (a/2π)(N sin t + Q (π − t)), Θ = (a/2π) Q (π − t); at t = 0
  // q is exactly (a/2π)·Q·π, so the diagonal terms use that same expression.
  const a2pi = g.op("Mul", [sc.a, g.constFloat(INV_2PI)]);
  let q = g.op("Mul", [g.op("Add", [first.normSin, Qr]), a2pi]);
  let theta = g.op("Mul", [Qr, a2pi]);
  let qx = g.op("Mul", [g.op("Mul", [Nx, pi]), a2pi]);
  let qy = g.op("Mul", [g.op("Mul", [Ny, pi]), a2pi]);
  for (let layer = 2; layer <= depth; layer++) {
    q = affine(g, q, two());
    qx = affine(g, qx, two());
    qy = affine(g, qy, two());
    theta = g.op("Add", [q, g.op("Mul", [theta, two()])]);
    const { t, normSin } = angle(q, qx, qy);
    if (layer < depth) {
      // q' = q/2 + (‖·‖ sin t − q t)/(2π) (exactly q/2 at t = 0);  Θ' = Θ (1/2 − t/(2π))
      const corr = g.op("Mul", [g.op("Sub", [normSin, g.op("Mul", [q, t])]), g.constFloat(INV_2PI)]);
      const qNext = g.op("Add", [g.op("Mul", [q, half()]), corr]);
      theta = g.op("Mul", [theta, g.op("Sub", [half(), g.op("Mul", [t, g.constFloat(INV_2PI)])])]);
      q = qNext;
      qx = g.op("Mul", [qx, half()]);
      qy = g.op("Mul", [qy, half()]);
    } else {
      // K = u + (‖·‖ sin t − u t)/π + b = (‖·‖ sin t + u (π − t) + bπ)/π
      const ur = g.op("Mul", [g.op("Add", [q, theta]), g.op("Sub", [pi, t])]);
      const y = sumOf(g, [normSin, ur, g.constFloat(B_STD2 * Math.PI)], portable);
      return g.op("Mul", [y, g.constFloat(INV_PI)], {}, { outputs: [out] });
    }
  }
  throw new Error("unreachable");
}

/** W_std²·x + b_std². */
function affine(g: GraphBuilder, x: Value, scale: Value): Value {
  return g.op("Add", [g.op("Mul", [x, scale]), g.constFloat(B_STD2)]);
}

function sumSqNode(g: GraphBuilder, x: Value, keepdims: boolean): Value {
  return g.op("ReduceSumSquare", [x], { axes: attr.ints([1]), keepdims: attr.int(keepdims ? 1 : 0) });
}

/** K(A, B) for row blocks A (na×d), B (nb×d). */
export function ntkGramGraph(depth: number): Uint8Array {
  const g = new GraphBuilder(`ntk_gram_d${depth}`);
  const a = g.input("A", "float32", ["na", "d"]);
  const b = g.input("B", "float32", ["nb", "d"]);
  const xy = g.op("Gemm", [a, b], { transB: attr.int(1) });
  const k = kernelNodes(g, xy, sumSqNode(g, a, true), sumSqNode(g, b, false), scales(g, a), depth, "K");
  g.output(k, "K", "float32", ["na", "nb"]);
  return g.toBytes();
}

/** K(A, B) with the rows' Σx² given (SA: na, SB: nb), e.g. computed once for the support side. */
export function ntkGramNormsGraph(depth: number): Uint8Array {
  const g = new GraphBuilder(`ntk_gram_norms_d${depth}`);
  const a = g.input("A", "float32", ["na", "d"]);
  const b = g.input("B", "float32", ["nb", "d"]);
  const sa = g.input("SA", "float32", ["na"]);
  const sb = g.input("SB", "float32", ["nb"]);
  const xy = g.op("Gemm", [a, b], { transB: attr.int(1) });
  const saCol = g.op("Unsqueeze", [sa, g.constInt64([1])]);
  const k = kernelNodes(g, xy, saCol, sb, scales(g, a), depth, "K");
  g.output(k, "K", "float32", ["na", "nb"]);
  return g.toBytes();
}

/**
 * K(x, x) for each row of A: the recursion at c = 1 (t = 0, sin t = 0), with the
 * same float32 operations as the Gram graph's diagonal.
 */
export function ntkDiagGraph(depth: number): Uint8Array {
  checkDepth(depth);
  const g = new GraphBuilder(`ntk_diag_d${depth}`);
  const a = g.input("A", "float32", ["na", "d"]);
  g.output(diagonalNodes(g, a, depth, "K"), "K", "float32", ["na"]);
  return g.toBytes();
}

/** K(x, x) per row of A, as nodes named `out` (the diagonal graph's body). */
function diagonalNodes(g: GraphBuilder, a: Value, depth: number, out: string, portable = false): Value {
  const sc = scales(g, a);
  const pi = g.constFloat(Math.PI);
  // The Gram graph's expressions at t = 0, sin t = 0 (so N sin t = 0, π − t = π).
  const zero = g.constFloat(0);
  const Qr = g.op("Mul", [g.op("Add", [sumSqNode(g, a, false), sc.h]), pi]);
  let k: Value;
  if (depth === 1) {
    const y = sumOf(g, [zero, Qr, Qr, g.op("Div", [g.constFloat(B_STD2 * Math.PI), sc.a])], portable);
    k = g.op("Mul", [y, g.op("Mul", [sc.a, g.constFloat(INV_PI)])], {}, { outputs: [out] });
  } else {
    const two = g.constFloat(W_STD2);
    let halfConst: Value | undefined; // only depth ≥ 3 halves in between
    const half = (): Value => (halfConst ??= g.constFloat(0.5));
    const a2pi = g.op("Mul", [sc.a, g.constFloat(INV_2PI)]);
    let q = g.op("Mul", [g.op("Add", [zero, Qr]), a2pi]);
    let theta = g.op("Mul", [Qr, a2pi]);
    for (let layer = 2; layer <= depth; layer++) {
      q = affine(g, q, two);
      theta = g.op("Add", [q, g.op("Mul", [theta, two])]);
      if (layer < depth) {
        q = g.op("Mul", [q, half()]);
        theta = g.op("Mul", [theta, half()]);
      }
    }
    const y = sumOf(g, [zero, g.op("Mul", [g.op("Add", [q, theta]), pi]), g.constFloat(B_STD2 * Math.PI)], portable);
    k = g.op("Mul", [y, g.constFloat(INV_PI)], {}, { outputs: [out] });
  }
  return k;
}

/**
 * K(A, B) as nodes of a graph (A na × d, B nb × d; SB = Σb² per row of B, or
 * null to compute it here), with WebGPU-portable ops (no variadic Sum).
 */
export function appendNtkGram(g: GraphBuilder, a: Value, b: Value, sb: Value | null, depth: number, out: string): Value {
  checkDepth(depth);
  const xy = g.op("Gemm", [a, b], { transB: attr.int(1) });
  return kernelNodes(g, xy, sumSqNode(g, a, true), sb ?? sumSqNode(g, b, false), scales(g, a), depth, out, true);
}

/**
 * K(X, X) with the exact diagonal of ntk_diag (see ntkGram) and that diagonal:
 * X (n × d) → K (n × n), KD (n). One run for a device-resident training Gram.
 */
export function ntkSelfGramGraph(depth: number): Uint8Array {
  const g = new GraphBuilder(`ntk_self_gram_d${depth}`);
  const x = g.input("X", "float32", ["n", "d"]);
  const raw = appendNtkGram(g, x, x, null, depth, "K_raw");
  const kd = diagonalNodes(g, x, depth, "KD", true);
  const eye = identityLike(g, raw);
  const offDiagonal = g.op("Mul", [raw, g.op("Sub", [g.constFloat(1), eye])]);
  const k = g.op("Add", [offDiagonal, g.op("Mul", [eye, g.op("Unsqueeze", [kd, g.constInt64([1])])])]);
  g.output(k, "K", "float32", ["n", "n"]);
  g.output(kd, "KD", "float32", ["n"]);
  return g.toBytes();
}

/** Σx² per row of A (float32), the input SA/SB of ntk_gram_norms_d{L}. */
export function rowSumSqGraph(): Uint8Array {
  const g = new GraphBuilder("row_sumsq");
  const a = g.input("A", "float32", ["na", "d"]);
  g.op("ReduceSumSquare", [a], { axes: attr.ints([1]), keepdims: attr.int(0) }, { outputs: ["S"] });
  g.output({ name: "S" }, "S", "float32", ["na"]);
  return g.toBytes();
}

export type NtkGraphKind = "gram" | "gram_norms" | "diag" | "self_gram";

const BUILDERS: Record<NtkGraphKind, (depth: number) => Uint8Array> = {
  gram: ntkGramGraph,
  gram_norms: ntkGramNormsGraph,
  diag: ntkDiagGraph,
  self_gram: ntkSelfGramGraph,
};

/** The graph ntk_{kind}_d{depth}; depths of NTK_DEPTHS are exported to models/. */
export function ntkGraph(kind: NtkGraphKind, depth: number): GraphSpec {
  checkDepth(depth);
  return sharedGraphSpec(`ntk_${kind}_d${depth}`, () => BUILDERS[kind](depth));
}

export const ROW_SUMSQ_GRAPH: GraphSpec = graphSpec("row_sumsq", rowSumSqGraph);

/** Every NTK graph committed under models/: key → fresh builder (scripts/export-models.ts). */
export function exportedNtkGraphs(): Record<string, () => Uint8Array> {
  const out: Record<string, () => Uint8Array> = { [ROW_SUMSQ_GRAPH.key]: rowSumSqGraph };
  for (const kind of ["gram", "gram_norms", "diag"] as NtkGraphKind[]) {
    for (const depth of NTK_DEPTHS) out[ntkGraph(kind, depth).key] = () => BUILDERS[kind](depth);
  }
  return out;
}
