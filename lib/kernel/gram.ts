/**
 * Blocked evaluation of the NTK Gram on an ONNX backend: K(A, B) for dense
 * float32 row blocks, written into a caller-owned buffer. Blocking is separate
 * from the kernel formula (lib/onnx/graphs/gram.ts), as in neural-tangents.
 */
import type { Backend } from "../onnx/backend.ts";
import { type GraphName, isGraphName } from "../onnx/graphs/index.ts";
import type { InteractionMatrix } from "../data/matrix.ts";

/** The Gram graph (with precomputed row norms) for a depth. */
function gramGraph(depth: number): GraphName {
  const name = `ntk_gram_norms_d${depth}`;
  if (!isGraphName(name)) throw new Error(`no NTK Gram graph for depth ${depth}`);
  return name;
}

/** Σx² per row of a row-major (n × d) block, in float32 as the graph expects. */
export function rowSumSq(a: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * d;
    for (let k = 0; k < d; k++) s += a[base + k] * a[base + k];
    out[i] = s;
  }
  return out;
}

/** Σx² per user of a sparse matrix, for rows [start, end). */
export function sparseRowSumSq(m: InteractionMatrix, start = 0, end = m.numUsers): Float32Array {
  const out = new Float32Array(end - start);
  for (let u = start; u < end; u++) {
    let s = 0;
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) s += m.values[p] * m.values[p];
    out[u - start] = s;
  }
  return out;
}

export interface GramOptions {
  /** Output buffer of na·nb floats (row-major). */
  out?: Float32Array;
  /** Precomputed Σx² of A's and B's rows. */
  normsA?: Float32Array;
  normsB?: Float32Array;
  /** Rows of A per graph call (bounds the temporaries ORT allocates). */
  blockRows?: number;
  onBlock?: (done: number, total: number) => void;
}

/** K(A, B) = NTK Gram of row-major A (na × d) and B (nb × d) at `depth`. */
export async function ntkGram(
  backend: Backend,
  a: Float32Array,
  na: number,
  b: Float32Array,
  nb: number,
  d: number,
  depth: number,
  options: GramOptions = {},
): Promise<Float32Array> {
  if (a.length < na * d || b.length < nb * d) throw new Error(`ntkGram: A or B is smaller than ${na}×${d} / ${nb}×${d}`);
  const out = options.out ?? new Float32Array(na * nb);
  if (out.length < na * nb) throw new Error(`ntkGram: output holds ${out.length} values, need ${na * nb}`);
  const normsA = options.normsA ?? rowSumSq(a, na, d);
  const normsB = options.normsB ?? rowSumSq(b, nb, d);
  const session = await backend.session(gramGraph(depth));
  const step = Math.max(1, options.blockRows ?? Math.max(64, Math.floor((1 << 23) / Math.max(1, nb))));
  for (let r0 = 0; r0 < na; r0 += step) {
    const r1 = Math.min(na, r0 + step);
    await backend.run(
      session,
      {
        A: { data: a.subarray(r0 * d, r1 * d), dims: [r1 - r0, d] },
        B: { data: b.subarray(0, nb * d), dims: [nb, d] },
        SA: { data: normsA.subarray(r0, r1), dims: [r1 - r0] },
        SB: { data: normsB.subarray(0, nb), dims: [nb] },
      },
      { K: { data: out.subarray(r0 * nb, r1 * nb), dims: [r1 - r0, nb] } },
    );
    options.onBlock?.(r1, na);
  }
  return out;
}
