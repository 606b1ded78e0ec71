/**
 * The ∞-AE kernel: the NTK of a fully connected ReLU network (NTK
 * parameterisation, W_std² = 2, b_std² = 0.01) with `depth` hidden layers and a
 * dense read-out, as docs/protocol.md §1 states it. Composed from layer rules acting
 * on the per-pair state (q, qx, qy, Θ), like neural-tangents' stax layers.
 *
 * This file is the float64 reference. The ONNX Gram graph (lib/onnx) computes
 * the same thing in float32 on blocks of users and is tested against it.
 */
export const W_STD2 = 2;
export const B_STD2 = 0.01;

/** Per-pair NTK state: cross covariance q, the two diagonal terms and Θ. */
export interface NtkState {
  q: number;
  qx: number;
  qy: number;
  theta: number;
}

/** Dense layer: covariances scale by W_std² and add b_std²; Θ picks up q. */
export function denseLayer(s: NtkState): NtkState {
  const q = W_STD2 * s.q + B_STD2;
  return { q, qx: W_STD2 * s.qx + B_STD2, qy: W_STD2 * s.qy + B_STD2, theta: q + W_STD2 * s.theta };
}

/** ReLU: arc-cosine kernel of degree 1 for q, its derivative scales Θ. */
export function reluLayer(s: NtkState): NtkState {
  const norm = Math.sqrt(s.qx * s.qy);
  const c = Math.min(1, Math.max(-1, s.q / norm));
  const t = Math.acos(c);
  const q = (norm / (2 * Math.PI)) * (Math.sin(t) + (Math.PI - t) * c);
  return { q, qx: s.qx / 2, qy: s.qy / 2, theta: (s.theta * (Math.PI - t)) / (2 * Math.PI) };
}

/** Kernel value from the input inner products ⟨x,y⟩, ⟨x,x⟩, ⟨y,y⟩ and d = #items. */
export function ntkFromDots(xy: number, xx: number, yy: number, d: number, depth = 1): number {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`ntk: depth must be an integer ≥ 1, got ${depth}`);
  let s: NtkState = { q: xy / d, qx: xx / d, qy: yy / d, theta: 0 };
  for (let l = 0; l < depth; l++) s = reluLayer(denseLayer(s));
  return denseLayer(s).theta;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** K(x, y) for two dense item vectors. */
export function ntk(x: ArrayLike<number>, y: ArrayLike<number>, depth = 1): number {
  if (x.length !== y.length) throw new Error(`ntk: vectors have lengths ${x.length} and ${y.length}`);
  return ntkFromDots(dot(x, y), dot(x, x), dot(y, y), x.length, depth);
}

/**
 * Float64 Gram matrix K(A, B) for row-major A (na × d) and B (nb × d); returns
 * a row-major na × nb Float64Array. O(na·nb·d): for tests and small problems.
 */
export function ntkGramReference(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
  depth = 1,
): Float64Array {
  if (a.length !== na * d || b.length !== nb * d) {
    throw new Error(`ntkGramReference: shapes ${a.length}≠${na}×${d} or ${b.length}≠${nb}×${d}`);
  }
  const na2 = new Float64Array(na);
  const nb2 = new Float64Array(nb);
  for (let i = 0; i < na; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += a[i * d + k] * a[i * d + k];
    na2[i] = s;
  }
  for (let j = 0; j < nb; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += b[j * d + k] * b[j * d + k];
    nb2[j] = s;
  }
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k];
      out[i * nb + j] = ntkFromDots(s, na2[i], nb2[j], d, depth);
    }
  }
  return out;
}
