/**
 * General Gemm graphs in float32 and float64, used by DISTILL-CF's fast step
 * (lib/distill/fast-step.ts) and ∞-AE's float64 path. Built on demand (not
 * exported to models/): `gemmSpec` gives the backend key and bytes.
 *
 * - `gemm(dtype, transA, transB)`: Y = op(A)·op(B), dynamic shapes. The float64
 *   variants keep the μ-sized products of the inner solve (α = A⁻¹X̂, its
 *   backward, K(X̂, X̂)'s dots) in double precision; the float32 ones carry the
 *   batch-sized products (K_BSᵀ·dP, Gᵀ·X_B) without transposed copies.
 */
import { attr, GraphBuilder, type GraphSpec, sharedGraphSpec } from "../builder.ts";
import type { Backend } from "../backend.ts";

export type GemmDType = "float32" | "float64";

/** Session cache key of a gemm graph. */
export function gemmKey(dtype: GemmDType, transA: boolean, transB: boolean): string {
  return `distill_gemm_${dtype === "float64" ? "f64" : "f32"}_${transA ? "t" : "n"}${transB ? "t" : "n"}`;
}

/** Y (m×n) = op(A)·op(B) with op = transpose where asked (Gemm). */
export function gemmGraph(dtype: GemmDType, transA: boolean, transB: boolean): Uint8Array {
  const g = new GraphBuilder(gemmKey(dtype, transA, transB));
  const a = g.input("A", dtype, transA ? ["k", "m"] : ["m", "k"]);
  const b = g.input("B", dtype, transB ? ["n", "k"] : ["k", "n"]);
  const y = g.op("Gemm", [a, b], { transA: attr.int(transA ? 1 : 0), transB: attr.int(transB ? 1 : 0) }, { outputs: ["Y"] });
  g.output(y, "Y", dtype, ["m", "n"]);
  return g.toBytes();
}

/** The backend's handle on gemmGraph(dtype, transA, transB). */
export function gemmSpec(dtype: GemmDType, transA: boolean, transB: boolean): GraphSpec {
  return sharedGraphSpec(gemmKey(dtype, transA, transB), () => gemmGraph(dtype, transA, transB));
}

/**
 * out (m×n) = op(A)·op(B) on `backend` through gemmGraph (the backend caches
 * the session by key). Checks that `out` holds m·n values; returns it.
 */
export async function runGemm<T extends Float32Array | Float64Array>(
  backend: Backend,
  dtype: GemmDType,
  a: T,
  aDims: readonly [number, number],
  transA: boolean,
  b: T,
  bDims: readonly [number, number],
  transB: boolean,
  out: T,
): Promise<T> {
  const m = transA ? aDims[1] : aDims[0];
  const n = transB ? bDims[0] : bDims[1];
  if (out.length !== m * n) throw new Error(`gemm: the output holds ${out.length} values, need ${m}×${n}`);
  const session = await backend.session(gemmSpec(dtype, transA, transB));
  await backend.run(session, { A: { data: a, dims: aDims }, B: { data: b, dims: bDims } }, { Y: { data: out, dims: [m, n] } });
  return out;
}
