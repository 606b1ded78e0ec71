/**
 * The NNGP kernel of the ∞-AE network: the covariance of the outputs of the same
 * infinitely wide ReLU autoencoder (NTK parameterisation, W_std² = 2, b_std² =
 * 0.01, `depth` hidden layers, dense read-out) at initialisation, i.e. the q of
 * ntk.ts's per-pair state after the read-out layer, without Θ's derivative term.
 * Lee et al., "Deep Neural Networks as Gaussian Processes", ICLR 2018; the
 * ReLU rule is Cho & Saul's arc-cosine kernel of degree 1 (NeurIPS 2009).
 *
 * Composed from ntk.ts's layer rules, so depth works the same way in both
 * kernels. Float64 reference; nngp-graph.ts is the float32 ONNX Gram.
 */
import { denseLayer, type NtkState, reluLayer } from "./ntk.ts";

/** The ∞-AE kernel family: the NTK (the paper's) or the NNGP of the same network. */
export type AeKernel = "ntk" | "nngp";
export const AE_KERNELS: readonly AeKernel[] = Object.freeze(["ntk", "nngp"]);

export function checkAeKernel(kernel: string): AeKernel {
  if ((AE_KERNELS as readonly string[]).includes(kernel)) return kernel as AeKernel;
  throw new Error(`∞-AE kernel must be one of ${AE_KERNELS.join(", ")}, got '${kernel}'`);
}

/** NNGP value from the input inner products ⟨x,y⟩, ⟨x,x⟩, ⟨y,y⟩ and d = #items. */
export function nngpFromDots(xy: number, xx: number, yy: number, d: number, depth = 1): number {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`nngp: depth must be an integer ≥ 1, got ${depth}`);
  let s: NtkState = { q: xy / d, qx: xx / d, qy: yy / d, theta: 0 };
  for (let l = 0; l < depth; l++) s = reluLayer(denseLayer(s));
  return denseLayer(s).q;
}

/**
 * Float64 NNGP Gram K(A, B) for row-major A (na × d) and B (nb × d), as a
 * row-major na × nb Float64Array. O(na·nb·d): for tests and small problems.
 */
export function nngpGramReference(
  a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, d: number, depth = 1,
): Float64Array {
  if (a.length !== na * d || b.length !== nb * d) throw new Error(`nngpGramReference: shapes ${a.length}≠${na}×${d} or ${b.length}≠${nb}×${d}`);
  const dot = (x: ArrayLike<number>, i: number, y: ArrayLike<number>, j: number): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k] * y[j * d + k];
    return s;
  };
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    const xx = dot(a, i, a, i);
    for (let j = 0; j < nb; j++) out[i * nb + j] = nngpFromDots(dot(a, i, b, j), xx, dot(b, j, b, j), d, depth);
  }
  return out;
}
