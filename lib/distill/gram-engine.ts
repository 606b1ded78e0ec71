/**
 * Where DISTILL-CF gets its NTK Gram matrices and their gradients. The
 * batch × support Gram (ML-1M: 6040 × 500 × 3706 per step) is the expensive
 * part, so it sits behind this interface: the float64 TypeScript reference is
 * the default, and an accelerated engine (e.g. ONNX Runtime, float32) can be
 * passed instead. Methods are async so such an engine fits.
 *
 * Contract, all row-major: `gram` returns K(A, B) (na × nb) for A (na × d),
 * B (nb × d); `gramBackward` returns ∂(Σ dK ⊙ K(A, B))/∂A (na × d) and /∂B
 * (nb × d), each only when asked for (null otherwise). For K(X, X) the caller
 * passes X twice and adds both.
 */
import { ntkGramF64, ntkGramBackward, type GramGradients } from "../ntk/ntk-grad.ts";

export type { GramGradients };

export interface GramEngine {
  gram(a: Float64Array, na: number, b: Float64Array, nb: number, d: number, depth: number): Promise<Float64Array>;
  gramBackward(
    a: Float64Array,
    na: number,
    b: Float64Array,
    nb: number,
    d: number,
    depth: number,
    dK: Float64Array,
    wantA: boolean,
    wantB: boolean,
  ): Promise<GramGradients>;
}

/** The float64 TypeScript reference engine (lib/ntk/ntk-grad.ts). */
export const float64GramEngine: GramEngine = {
  gram: async (a, na, b, nb, d, depth) => ntkGramF64(a, na, b, nb, d, depth),
  gramBackward: async (a, na, b, nb, d, depth, dK, wantA, wantB) =>
    ntkGramBackward(a, na, b, nb, d, depth, dK, wantA, wantB),
};
