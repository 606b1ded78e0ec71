/**
 * One block of real users' part of DISTILL-CF's softmax loss and its
 * backward, as a single float32 ONNX graph (fast-step.ts runs it per block):
 *
 *   inputs   XB (rows×I, the users' binary rows), S (μ×I, X̂), A (μ×I, α),
 *            NB (rows×1) = Σx² of XB's rows, NS (1×μ) = Σx² of X̂'s rows,
 *            INV (1) = 1 / the loss normaliser (users in the whole batch)
 *   forward  D = XB·Sᵀ; K = f(D, NB, NS) (the ∞-AE NTK, depth L);
 *            P = K·A; per row lse(P)·Σx − ⟨x, P⟩ → ROWLOSS (rows)
 *   backward dP = (softmax(P)·Σx − XB)·INV; DA = Kᵀ·dP (μ×I);
 *            dK = dP·Aᵀ; DS = (dK ⊙ f_xy)ᵀ·XB (μ×I); GN = Σ_rows dK ⊙ f_yy (μ)
 *
 * f_xy, f_yy are ∂K/∂⟨x,y⟩ and ∂K/∂⟨y,y⟩, the layer rules of
 * lib/ntk/ntk-grad.ts (`ntkDotsWithGrad`, its file comment derives them)
 * written as graph nodes; the adjoint of ⟨x,x⟩ is not needed (XB is data).
 * The graph without the backward (`withGradient` false) returns ROWLOSS only.
 *
 * Why one graph: the batch stage was five Gemm runs with the NTK partials,
 * the softmax and the accumulations in TypeScript between them (≈ 1.1 s of
 * single-threaded work per ML-1M step); here they run on ORT's threads (or the
 * GPU), and P, dP and K never cross to the host.
 *
 * Precision: float32 throughout, as the Gemms were before; the partials were
 * float64 from float32 dots before, so gradients move at the 1e-6 level
 * (tests/distill/fast.test.ts holds the step to 1e-4 of the float64 reference).
 * Row losses are summed in float64 on the host.
 */
import { attr, GraphBuilder, type GraphSpec, sharedGraphSpec, type Value } from "../onnx/builder.ts";
import { B_STD2, W_STD2 } from "../ntk/ntk.ts";

export function blockGraphKey(depth: number, withGradient: boolean): string {
  return `distill_block_d${depth}${withGradient ? "_grad" : ""}`;
}

interface LayerTape {
  q: Value;
  qx: Value;
  qy: Value;
  th: Value;
  n: Value;
  r: Value;
  c: Value;
  t: Value;
  s: Value;
}

export function blockGraph(depth: number, withGradient: boolean): Uint8Array {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`blockGraph: depth must be an integer ≥ 1, got ${depth}`);
  const g = new GraphBuilder(blockGraphKey(depth, withGradient));
  const xb = g.input("XB", "float32", ["rows", "items"]);
  const s = g.input("S", "float32", ["mu", "items"]);
  const a = g.input("A", "float32", ["mu", "items"]);
  const nb = g.input("NB", "float32", ["rows", 1]);
  const ns = g.input("NS", "float32", [1, "mu"]);
  const inv = g.input("INV", "float32", [1]);
  const c = (v: number): Value => g.constFloat(v);
  const mul = (x: Value, y: Value): Value => g.op("Mul", [x, y]);
  const add = (x: Value, y: Value): Value => g.op("Add", [x, y]);
  const sub = (x: Value, y: Value): Value => g.op("Sub", [x, y]);
  const div = (x: Value, y: Value): Value => g.op("Div", [x, y]);
  const W = c(W_STD2);
  const B = c(B_STD2);
  const PI = c(Math.PI);
  const INV_2PI = c(1 / (2 * Math.PI));
  const HALF = c(0.5);
  const dense = (x: Value): Value => add(mul(x, W), B);

  // 1/d from XB's second dimension.
  const dDim = g.op("Cast", [g.op("Shape", [xb], { start: attr.int(1), end: attr.int(2) })], { to: attr.int(1) });
  const invD = div(c(1), dDim);
  const dots = g.op("Gemm", [xb, s], { transB: attr.int(1) });

  // Forward through the layers, keeping what the backward reads.
  let q = mul(dots, invD);
  let qx = mul(nb, invD);
  let qy = mul(ns, invD);
  let th: Value | null = null;
  const tape: LayerTape[] = [];
  for (let l = 0; l < depth; l++) {
    q = dense(q);
    qx = dense(qx);
    qy = dense(qy);
    th = th === null ? q : add(q, mul(th, W));
    const n = g.op("Sqrt", [mul(qx, qy)]);
    const r = div(q, n);
    const cl = g.op("Clip", [r, c(-1), c(1)]);
    const t = g.op("Acos", [cl]);
    const sn = g.op("Sin", [t]);
    tape.push({ q, qx, qy, th, n, r, c: cl, t, s: sn });
    const piMinusT = sub(PI, t);
    q = mul(mul(n, INV_2PI), add(sn, mul(piMinusT, cl)));
    th = mul(mul(th, piMinusT), INV_2PI);
    qx = mul(qx, HALF);
    qy = mul(qy, HALF);
  }
  const k = add(dense(q), mul(th!, W));

  // Scores and the softmax loss per row.
  const p = g.op("MatMul", [k, a]);
  const axis1 = g.constInt64([1]);
  const max = g.op("ReduceMax", [p], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const ex = g.op("Exp", [sub(p, max)]);
  const sumEx = g.op("ReduceSum", [ex, axis1], { keepdims: attr.int(1) });
  const lse = add(max, g.op("Log", [sumEx]));
  const sumX = g.op("ReduceSum", [xb, axis1], { keepdims: attr.int(1) });
  const dotXP = g.op("ReduceSum", [mul(xb, p), axis1], { keepdims: attr.int(1) });
  const rowLoss = g.op("Reshape", [sub(mul(lse, sumX), dotXP), g.constInt64([-1])]);
  g.output(rowLoss, "ROWLOSS", "float32", ["rows"]);
  if (!withGradient) return g.toBytes();

  const dP = mul(sub(mul(div(ex, sumEx), sumX), xb), inv);
  g.output(g.op("Gemm", [k, dP], { transA: attr.int(1) }), "DA", "float32", ["mu", "items"]);
  const dK = g.op("Gemm", [dP, a], { transB: attr.int(1) });

  // Backward through the layers: adjoints of (q, qy, Θ); K's read-out gives W to q and Θ.
  let aQ: Value = W;
  let aQy: Value | null = null;
  let aT: Value = W;
  const ONE = c(1);
  const ZERO = c(0);
  for (let l = depth - 1; l >= 0; l--) {
    const tp = tape[l];
    const pmt = mul(sub(PI, tp.t), INV_2PI);
    // Unclipped (|r| < 1): ∂/∂c terms through aC = aT·Θ/(2π sin t).
    const aC = div(mul(aT, tp.th), mul(tp.s, c(2 * Math.PI)));
    const inQIn = add(mul(aQ, pmt), div(aC, tp.n));
    const inNIn = sub(mul(mul(aQ, tp.s), INV_2PI), div(mul(aC, tp.c), tp.n));
    const inNClip = mul(mul(aQ, add(tp.s, mul(sub(PI, tp.t), tp.c))), INV_2PI);
    const inside = g.op("Less", [g.op("Abs", [tp.r]), ONE]);
    const inQ = g.op("Where", [inside, inQIn, ZERO]);
    const inN = g.op("Where", [inside, inNIn, inNClip]);
    const inT = mul(aT, pmt);
    // ∂n/∂qy = qx/(2n).
    const fromN = div(mul(inN, tp.qx), mul(tp.n, c(2)));
    const inQy = aQy === null ? fromN : add(mul(aQy, HALF), fromN);
    aQ = mul(add(inQ, inT), W);
    aQy = mul(inQy, W);
    aT = mul(inT, W);
  }
  const fxy = mul(aQ, invD);
  const fyy = mul(aQy!, invD);
  const gMat = mul(dK, fxy);
  g.output(g.op("ReduceSum", [mul(dK, fyy), g.constInt64([0])], { keepdims: attr.int(0) }), "GN", "float32", ["mu"]);
  g.output(g.op("Gemm", [gMat, xb], { transA: attr.int(1) }), "DS", "float32", ["mu", "items"]);
  return g.toBytes();
}

export function blockGraphSpec(depth: number, withGradient: boolean): GraphSpec {
  return sharedGraphSpec(blockGraphKey(depth, withGradient), () => blockGraph(depth, withGradient));
}
