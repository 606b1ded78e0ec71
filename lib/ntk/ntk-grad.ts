/**
 * Reverse-mode derivatives of the ∞-AE NTK (lib/ntk/ntk.ts), per pair and
 * for whole Gram matrices K(A, B) in both arguments. Float64 reference.
 *
 * Per pair the kernel is a scalar function f(xy, xx, yy) of the input inner
 * products ⟨x,y⟩, ⟨x,x⟩, ⟨y,y⟩. We run the layer rules forward, keep each
 * layer's input state, and pull the adjoint (Q, Qx, Qy, T) of (q, qx, qy, Θ)
 * back through the layers:
 *
 * Dense (q' = 2q + b, qx' = 2qx + b, qy' = 2qy + b, Θ' = q' + 2Θ):
 *   Q ← 2(Q' + T'),  Qx ← 2Qx',  Qy ← 2Qy',  T ← 2T'.
 *
 * ReLU, with n = √(qx·qy), c = clip(q/n, −1, 1), t = arccos c, s = sin t:
 *   q' = n/(2π)·(s + (π − t)c). Since dt/dc = −1/s, d(s + (π−t)c)/dc = π − t,
 *   so with c = q/n unclipped:  ∂q'/∂q = (π − t)/(2π),  ∂q'/∂n = s/(2π).
 *   Θ' = Θ(π − t)/(2π):  ∂Θ'/∂Θ = (π − t)/(2π),  ∂Θ'/∂c = Θ/(2π·s),
 *   and ∂c/∂q = 1/n, ∂c/∂n = −c/n.
 *   Clipped (|q/n| ≥ 1): c is constant, ∂/∂c terms vanish, q' = n·(c = 1 ? ½ : 0).
 *   qx' = qx/2, qy' = qy/2, and ∂n/∂qx = qy/(2n), ∂n/∂qy = qx/(2n).
 *
 * The diagonal K(x, x) has q/n = 1 exactly in floating point (the same sums
 * give q, qx and qy), which counts as clipped: c stays 1 along any perturbation
 * that moves x in both arguments, so the clipped partials give the exact total
 * derivative there. Off the diagonal ∂Θ'/∂c grows like 1/sin t as two users
 * become parallel; that is the true derivative, not a numerical artefact.
 *
 * Rounding: ntk.ts evaluates q' at c = 1 as (n/(2π))·π, which is not n/2
 * bit for bit, so at depth ≥ 2 the diagonal's next-layer q/n lands 1 ulp
 * below 1, where arccos has infinite slope: K(x, x) then jitters by ~5e-9
 * relative under tiny perturbations, enough to spoil finite differences (and
 * the float32 ONNX Gram would jitter by ~1e-4). Here q' at c = ±1 is written
 * as exactly n/2 or 0 (the same value in exact arithmetic), which keeps the
 * diagonal on the clipped branch at every layer. `ntkGramF64` therefore agrees
 * with `ntkGramReference` to ~1e-15 relative, not bit for bit, at depth ≥ 2.
 *
 * Input: q = xy/d etc., so ∂f/∂xy = Q/d, ∂f/∂xx = Qx/d, ∂f/∂yy = Qy/d.
 *
 * Gram backward: for K_ij = f(⟨a_i,b_j⟩, ⟨a_i,a_i⟩, ⟨b_j,b_j⟩) and upstream
 * dK, with G_ij = dK_ij·f_xy, h_i = Σ_j dK_ij·f_xx, g_j = Σ_i dK_ij·f_yy:
 *   dA = G·B + 2·diag(h)·A,   dB = Gᵀ·A + 2·diag(g)·B.
 * For K(X, X) call with A = B = X and add dA + dB: that is the exact
 * derivative for any (not necessarily symmetric) dK.
 */
import { B_STD2, W_STD2 } from "./ntk.ts";

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`ntk-grad: depth must be an integer ≥ 1, got ${depth}`);
}

/**
 * Kernel value and its partial derivatives in the input inner products.
 * Writes [K, ∂K/∂xy, ∂K/∂xx, ∂K/∂yy] into `out` (length ≥ 4) and returns it.
 * `tape` (length ≥ 4·depth) is scratch space; pass one to avoid allocation.
 */
export function ntkDotsWithGrad(
  xy: number,
  xx: number,
  yy: number,
  d: number,
  depth: number,
  out: Float64Array = new Float64Array(4),
  tape: Float64Array = new Float64Array(4 * depth),
): Float64Array {
  let q = xy / d;
  let qx = xx / d;
  let qy = yy / d;
  let th = 0;
  for (let l = 0; l < depth; l++) {
    q = W_STD2 * q + B_STD2;
    qx = W_STD2 * qx + B_STD2;
    qy = W_STD2 * qy + B_STD2;
    th = q + W_STD2 * th;
    tape[4 * l] = q;
    tape[4 * l + 1] = qx;
    tape[4 * l + 2] = qy;
    tape[4 * l + 3] = th;
    const n = Math.sqrt(qx * qy);
    const c = Math.min(1, Math.max(-1, q / n));
    const t = Math.acos(c);
    // At c = ±1 the rule is exactly n/2 or 0; writing it so keeps q = qx = qy
    // bit-identical on the diagonal at every depth (see the file comment).
    q = c === 1 ? n / 2 : c === -1 ? 0 : (n / (2 * Math.PI)) * (Math.sin(t) + (Math.PI - t) * c);
    th = (th * (Math.PI - t)) / (2 * Math.PI);
    qx /= 2;
    qy /= 2;
  }
  q = W_STD2 * q + B_STD2;
  out[0] = q + W_STD2 * th;

  // Adjoints of (q, qx, qy, Θ) after the read-out dense layer: only Θ counts.
  let aQ = W_STD2 * (0 + 1);
  let aQx = 0;
  let aQy = 0;
  let aT = W_STD2 * 1;
  for (let l = depth - 1; l >= 0; l--) {
    // ReLU backward, from the state that entered it.
    const pq = tape[4 * l];
    const pqx = tape[4 * l + 1];
    const pqy = tape[4 * l + 2];
    const pth = tape[4 * l + 3];
    const n = Math.sqrt(pqx * pqy);
    const r = pq / n;
    const c = Math.min(1, Math.max(-1, r));
    const t = Math.acos(c);
    const s = Math.sin(t);
    const piMinusT = (Math.PI - t) / (2 * Math.PI);
    let inQ: number;
    let inN: number;
    if (r > -1 && r < 1) {
      const aC = (aT * pth) / (2 * Math.PI * s);
      inQ = aQ * piMinusT + aC / n;
      inN = (aQ * s) / (2 * Math.PI) - (aC * c) / n;
    } else {
      inQ = 0;
      inN = (aQ * (s + (Math.PI - t) * c)) / (2 * Math.PI);
    }
    const inT = aT * piMinusT;
    const inQx = aQx / 2 + (inN * pqy) / (2 * n);
    const inQy = aQy / 2 + (inN * pqx) / (2 * n);
    // Dense backward.
    aQ = W_STD2 * (inQ + inT);
    aQx = W_STD2 * inQx;
    aQy = W_STD2 * inQy;
    aT = W_STD2 * inT;
  }
  out[1] = aQ / d;
  out[2] = aQx / d;
  out[3] = aQy / d;
  return out;
}

function rowSquares(m: ArrayLike<number>, n: number, d: number): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    const base = i * d;
    for (let k = 0; k < d; k++) acc += m[base + k] * m[base + k];
    s[i] = acc;
  }
  return s;
}

function checkShapes(fn: string, a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, d: number): void {
  if (!Number.isInteger(d) || d < 1) throw new Error(`${fn}: d must be a positive integer, got ${d}`);
  if (a.length !== na * d) throw new Error(`${fn}: A has ${a.length} values, expected ${na}×${d}`);
  if (b.length !== nb * d) throw new Error(`${fn}: B has ${b.length} values, expected ${nb}×${d}`);
}

/**
 * Float64 Gram matrix K(A, B), row-major na × nb; the values of
 * `ntkGramReference` (to rounding, see above) without per-pair allocation.
 */
export function ntkGramF64(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
  depth = 1,
): Float64Array {
  checkDepth(depth);
  checkShapes("ntkGramF64", a, na, b, nb, d);
  const sa = rowSquares(a, na, d);
  const sb = rowSquares(b, nb, d);
  const out = new Float64Array(na * nb);
  const res = new Float64Array(4);
  const tape = new Float64Array(4 * depth);
  for (let i = 0; i < na; i++) {
    const ai = i * d;
    for (let j = 0; j < nb; j++) {
      const bj = j * d;
      let xy = 0;
      for (let k = 0; k < d; k++) xy += a[ai + k] * b[bj + k];
      out[i * nb + j] = ntkDotsWithGrad(xy, sa[i], sb[j], d, depth, res, tape)[0];
    }
  }
  return out;
}

export interface GramGradients {
  /** ∂(Σ dK ⊙ K)/∂A, na × d, or null when not requested. */
  dA: Float64Array | null;
  /** ∂(Σ dK ⊙ K)/∂B, nb × d, or null when not requested. */
  dB: Float64Array | null;
}

/**
 * Pull the upstream gradient dK (na × nb, row-major) of K(A, B) back to A
 * and/or B. O(na·nb·d).
 */
export function ntkGramBackward(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
  depth: number,
  dK: ArrayLike<number>,
  wantA = true,
  wantB = true,
): GramGradients {
  checkDepth(depth);
  checkShapes("ntkGramBackward", a, na, b, nb, d);
  if (dK.length !== na * nb) throw new Error(`ntkGramBackward: dK has ${dK.length} values, expected ${na}×${nb}`);
  const sa = rowSquares(a, na, d);
  const sb = rowSquares(b, nb, d);
  const hA = new Float64Array(na);
  const hB = new Float64Array(nb);
  const dA = wantA ? new Float64Array(na * d) : null;
  const dB = wantB ? new Float64Array(nb * d) : null;
  const res = new Float64Array(4);
  const tape = new Float64Array(4 * depth);
  for (let i = 0; i < na; i++) {
    const ai = i * d;
    for (let j = 0; j < nb; j++) {
      const up = dK[i * nb + j];
      if (up === 0) continue;
      const bj = j * d;
      let xy = 0;
      for (let k = 0; k < d; k++) xy += a[ai + k] * b[bj + k];
      ntkDotsWithGrad(xy, sa[i], sb[j], d, depth, res, tape);
      const g = up * res[1];
      hA[i] += up * res[2];
      hB[j] += up * res[3];
      if (dA) for (let k = 0; k < d; k++) dA[ai + k] += g * b[bj + k];
      if (dB) for (let k = 0; k < d; k++) dB[bj + k] += g * a[ai + k];
    }
  }
  if (dA) for (let i = 0; i < na; i++) for (let k = 0; k < d; k++) dA[i * d + k] += 2 * hA[i] * a[i * d + k];
  if (dB) for (let j = 0; j < nb; j++) for (let k = 0; k < d; k++) dB[j * d + k] += 2 * hB[j] * b[j * d + k];
  return { dA, dB };
}

/** Per-entry NTK values and partials of a Gram block. */
export interface GramPartials {
  k: Float64Array | Float32Array;
  fxy: Float64Array | Float32Array;
  fxx: Float64Array | Float32Array | null;
  fyy: Float64Array | Float32Array;
}

/**
 * K and its partials ∂K/∂xy, ∂K/∂xx, ∂K/∂yy for every pair of a Gram block,
 * from its dots (na × nb) and the rows' Σx²: float64 or float32 storage, with
 * ∂K/∂xx only when asked (DISTILL-CF's fast step).
 */
export function ntkGramPartials(
  dots: Float64Array | Float32Array,
  na: number,
  nb: number,
  normsA: ArrayLike<number>,
  normsB: ArrayLike<number>,
  d: number,
  depth: number,
  f64: boolean,
  wantFxx: boolean,
): GramPartials {
  const n = na * nb;
  const make = (): Float64Array | Float32Array => (f64 ? new Float64Array(n) : new Float32Array(n));
  const k = make();
  const fxy = make();
  const fyy = make();
  const fxx = wantFxx ? make() : null;
  const res = new Float64Array(4);
  const tape = new Float64Array(4 * depth);
  for (let i = 0; i < na; i++) {
    const sa = normsA[i];
    for (let j = 0; j < nb; j++) {
      const p = i * nb + j;
      ntkDotsWithGrad(dots[p], sa, normsB[j], d, depth, res, tape);
      k[p] = res[0];
      fxy[p] = res[1];
      if (fxx) fxx[p] = res[2];
      fyy[p] = res[3];
    }
  }
  return { k, fxy, fxx, fyy };
}

/**
 * ntkGramPartials of a symmetric Gram block K(X, X) (float64), from the upper
 * triangle of its dots: pair (j, i) has the same K and ∂K/∂xy as (i, j), and
 * its ∂K/∂xx and ∂K/∂yy swapped, so half the pairs are evaluated. Equal to
 * ntkGramPartials bit for bit when `dots` is exactly symmetric; otherwise the
 * upper triangle decides (the result is exactly symmetric either way).
 */
export function ntkSymmetricGramPartials(
  dots: ArrayLike<number>,
  n: number,
  norms: ArrayLike<number>,
  d: number,
  depth: number,
  wantFxx: boolean,
): GramPartials {
  if (dots.length !== n * n) throw new Error(`ntkSymmetricGramPartials: ${dots.length} dots, expected ${n}×${n}`);
  const k = new Float64Array(n * n);
  const fxy = new Float64Array(n * n);
  const fyy = new Float64Array(n * n);
  const fxx = wantFxx ? new Float64Array(n * n) : null;
  const res = new Float64Array(4);
  const tape = new Float64Array(4 * depth);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const p = i * n + j;
      const q = j * n + i;
      ntkDotsWithGrad(dots[p], norms[i], norms[j], d, depth, res, tape);
      k[p] = k[q] = res[0];
      fxy[p] = fxy[q] = res[1];
      // The mirror first, so that on the diagonal (p = q) the pair's own values stay.
      fyy[q] = res[2];
      fyy[p] = res[3];
      if (fxx) {
        fxx[q] = res[3];
        fxx[p] = res[2];
      }
    }
  }
  return { k, fxy, fxx, fyy };
}
