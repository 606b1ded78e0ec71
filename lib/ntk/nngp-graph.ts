/**
 * The NNGP kernel of the ∞-AE network (float64 reference: nngp.ts) as a
 * float32 ONNX graph on blocks of users, and `nngpGram`, which runs it in row
 * blocks the way gram.ts's `ntkGram` runs the NTK:
 *
 *   nngp_gram_norms_d{L}  A (na×d), B (nb×d), SA (na), SB (nb) = Σx² per row → K (na×nb)
 *
 * Graphs are built on demand (none is exported to models/). Unlike the NTK,
 * the NNGP needs no separate diagonal graph: its ReLU rule has a bounded
 * derivative in c at c = 1 ((π − t)/π), so a last-bit error in c moves K by
 * about as much (≈ 1e-7 relative), not by the NTK's 1e-4.
 */
import { attr, GraphBuilder, type GraphSpec, sharedGraphSpec, type Value } from "../onnx/builder.ts";
import type { Backend } from "../onnx/backend.ts";
import { type NtkGramOptions, rowBlockGram } from "./gram.ts";
import { B_STD2, W_STD2 } from "./ntk.ts";

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`nngp graph: depth must be an integer ≥ 1, got ${depth}`);
}

/**
 * K from ⟨x,y⟩ (na×nb), Σx² (na×1), Σy² (nb): nngp.ts's layer rules on
 * (q, qx, qy). Each ReLU writes q' = (‖·‖ sin t + q (π − t))/(2π), which is
 * ‖·‖(sin t + (π − t)c)/(2π) with c = q/‖·‖.
 */
function nngpNodes(g: GraphBuilder, a: Value, xy: Value, sa: Value, sb: Value, depth: number, out: string): Value {
  checkDepth(depth);
  const d = g.op("Cast", [g.op("Shape", [a], { start: attr.int(1), end: attr.int(2) })], { to: attr.int(1) });
  const inv = g.op("Div", [g.constFloat(1), d]);
  const two = g.constFloat(W_STD2);
  const b = g.constFloat(B_STD2);
  const pi = g.constFloat(Math.PI);
  const half = g.constFloat(0.5);
  const dense = (x: Value): Value => g.op("Add", [g.op("Mul", [x, two]), b]);
  let q = g.op("Mul", [xy, inv]);
  let qx = g.op("Mul", [sa, inv]);
  let qy = g.op("Mul", [sb, inv]);
  for (let layer = 1; layer <= depth; layer++) {
    q = dense(q);
    qx = dense(qx);
    qy = dense(qy);
    const norm = g.op("Sqrt", [g.op("Mul", [qx, qy])]);
    const c = g.op("Clip", [g.op("Div", [q, norm]), g.constFloat(-1), g.constFloat(1)]);
    const t = g.op("Acos", [c]);
    const sum = g.op("Add", [g.op("Mul", [norm, g.op("Sin", [t])]), g.op("Mul", [q, g.op("Sub", [pi, t])])]);
    q = g.op("Mul", [sum, g.constFloat(1 / (2 * Math.PI))]);
    qx = g.op("Mul", [qx, half]);
    qy = g.op("Mul", [qy, half]);
  }
  return g.op("Add", [g.op("Mul", [q, two]), b], {}, { outputs: [out] });
}

/** K(A, B) with the rows' Σx² given (SA: na, SB: nb). */
export function nngpGramNormsGraph(depth: number): Uint8Array {
  const g = new GraphBuilder(`nngp_gram_norms_d${depth}`);
  const a = g.input("A", "float32", ["na", "d"]);
  const b = g.input("B", "float32", ["nb", "d"]);
  const sa = g.input("SA", "float32", ["na"]);
  const sb = g.input("SB", "float32", ["nb"]);
  const xy = g.op("Gemm", [a, b], { transB: attr.int(1) });
  const k = nngpNodes(g, a, xy, g.op("Unsqueeze", [sa, g.constInt64([1])]), sb, depth, "K");
  g.output(k, "K", "float32", ["na", "nb"]);
  return g.toBytes();
}

export function nngpGraph(depth: number): GraphSpec {
  checkDepth(depth);
  return sharedGraphSpec(`nngp_gram_norms_d${depth}`, () => nngpGramNormsGraph(depth));
}

/** As ntkGram's: depth, out, bSumSq, rowBlock, symmetric. */
export type NngpGramOptions = NtkGramOptions;

/** The float32 NNGP Gram K(A, B) (na × nb, row-major), in row blocks of A; same contract as ntkGram. */
export async function nngpGram(
  be: Backend, a: Float32Array, na: number, b: Float32Array, nb: number, d: number, opts: NngpGramOptions = {},
): Promise<Float32Array> {
  return rowBlockGram("nngpGram", be, await be.session(nngpGraph(opts.depth ?? 1)), a, na, b, nb, d, opts);
}
