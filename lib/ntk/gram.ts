/**
 * The NTK Gram for blocks of users on an ONNX backend: `ntkGram` runs the
 * graphs of gram-graph.ts in row blocks into a caller's buffer (exact diagonal
 * for K(X, X)); the float64 reference is ntk.ts.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { Backend, Session } from "../onnx/backend.ts";
import { ntkGraph, ROW_SUMSQ_GRAPH } from "./gram-graph.ts";

export interface NtkGramOptions {
  /** Hidden layers (default 1). */
  depth?: number;
  /** Pre-allocated na·nb output (row-major); ORT writes into it. */
  out?: Float32Array;
  /** Σx² per row of B, if already known (e.g. the support set's, computed once). */
  bSumSq?: Float32Array;
  /**
   * Rows of A per graph run (default: GRAM_BLOCK_VALUES / nb, within 64–512).
   * Blocks keep the elementwise tail's intermediates (rows·nb floats each),
   * which ORT's arena keeps after the run, small: see GRAM_BLOCK_VALUES.
   */
  rowBlock?: number;
  /**
   * For K(X, X) (A and B the same rows): compute the lower block triangle and
   * mirror it (default true): half the products, exactly symmetric. False
   * computes every block (the older way, kept for comparison).
   */
  symmetric?: boolean;
}

/** Σx² per row of a row-major (n × d) matrix, via ORT. */
export async function rowSumSq(be: Backend, x: Float32Array, n: number, d: number): Promise<Float32Array> {
  if (x.length !== n * d) throw new Error(`rowSumSq: ${x.length} values for ${n}×${d}`);
  const out = new Float32Array(n);
  if (n === 0) return out;
  if (d === 0) return out;
  const s = await be.session(ROW_SUMSQ_GRAPH);
  await be.run(s, { A: { data: x, dims: [n, d] } }, { S: { data: out, dims: [n] } });
  return out;
}

/**
 * Values per row block of a Gram (rows · nb). The ML-1M Gram (6040², 2-core
 * EPYC) left ORT's arena ≈ 130 MB above K with blocks of 512 rows and ≈ 55 MB
 * with 160 (2^20 / 6040 = 173), in the same time (2.1–2.7 s each, alternating
 * runs beside another job; an earlier idle measurement had 512 ≈ 10% faster
 * than 256).
 */
export const GRAM_BLOCK_VALUES = 1 << 20;

function defaultRowBlock(nb: number): number {
  return Math.max(64, Math.min(512, Math.floor(GRAM_BLOCK_VALUES / Math.max(1, nb))));
}

/** The float32 NTK Gram matrix K(A, B) (na × nb, row-major), in row blocks of A. */
export async function ntkGram(
  be: Backend,
  a: Float32Array,
  na: number,
  b: Float32Array,
  nb: number,
  d: number,
  opts: NtkGramOptions = {},
): Promise<Float32Array> {
  const depth = opts.depth ?? 1;
  const out = await rowBlockGram("ntkGram", be, await be.session(ntkGraph("gram_norms", depth)), a, na, b, nb, d, opts);
  if (na > 0 && sameRows(a, b)) {
    // K(X, X): for weighted rows ⟨x,x⟩ from the MatMul and Σx² differ in the last
    // bit, so c = 1 − ε and arccos turns ε = 6e-8 into a 1e-4 error. The diagonal
    // graph has no such cancellation; binary rows already agree exactly.
    const diag = await ntkDiag(be, a, na, d, depth);
    for (let i = 0; i < na; i++) out[i * nb + i] = diag[i];
  }
  return out;
}

/**
 * A kernel Gram K(A, B) from a graph with inputs A, B, SA, SB (row norms Σx²) and
 * output K, run in row blocks of A (ntkGram, nngpGram). For K(X, X) (A and B the
 * same rows) only the lower block triangle is computed and mirrored unless
 * `symmetric` is false.
 */
export async function rowBlockGram(
  fn: string,
  be: Backend,
  s: Session,
  a: Float32Array,
  na: number,
  b: Float32Array,
  nb: number,
  d: number,
  opts: Omit<NtkGramOptions, "depth"> = {},
): Promise<Float32Array> {
  if (a.length !== na * d || b.length !== nb * d) {
    throw new Error(`${fn}: A has ${a.length} values (want ${na}×${d}), B has ${b.length} (want ${nb}×${d})`);
  }
  if (d < 1) throw new Error(`${fn}: d (items) must be ≥ 1`);
  const out = opts.out ?? new Float32Array(na * nb);
  if (out.length !== na * nb) throw new Error(`${fn}: out has ${out.length} values, need ${na}×${nb}`);
  const rowBlock = opts.rowBlock ?? defaultRowBlock(nb);
  if (!Number.isInteger(rowBlock) || rowBlock < 1) throw new Error(`${fn}: rowBlock must be a positive integer, got ${rowBlock}`);
  if (na === 0 || nb === 0) return out;
  const sb = opts.bSumSq ?? (await rowSumSq(be, b, nb, d));
  if (sb.length !== nb) throw new Error(`${fn}: bSumSq has ${sb.length} values, need ${nb}`);
  const sa = await rowSumSq(be, a, na, d);
  if (sameRows(a, b) && opts.symmetric !== false) {
    await lowerBlocksMirrored(be, s, a, na, d, sa, rowBlock, out);
    return out;
  }
  for (let r = 0; r < na; r += rowBlock) {
    const m = Math.min(rowBlock, na - r);
    await be.run(
      s,
      {
        A: { data: a.subarray(r * d, (r + m) * d), dims: [m, d] },
        B: { data: b, dims: [nb, d] },
        SA: { data: sa.subarray(r, r + m), dims: [m] },
        SB: { data: sb, dims: [nb] },
      },
      { K: { data: out.subarray(r * nb, (r + m) * nb), dims: [m, nb] } },
    );
  }
  return out;
}

/**
 * K(X, X) from its lower block triangle: row block [r, r + m) is computed against
 * rows [0, r + m) only (half the products of the full Gram), then each block above
 * the diagonal is the transpose of its mirror, so K is exactly symmetric.
 */
async function lowerBlocksMirrored(
  be: Backend, s: Session, x: Float32Array, n: number, d: number, sx: Float32Array, rowBlock: number, out: Float32Array,
): Promise<void> {
  const tmp = new Float32Array(rowBlock * n);
  for (let r = 0; r < n; r += rowBlock) {
    const m = Math.min(rowBlock, n - r);
    const cols = r + m;
    const k = tmp.subarray(0, m * cols);
    await be.run(
      s,
      {
        A: { data: x.subarray(r * d, (r + m) * d), dims: [m, d] },
        B: { data: x.subarray(0, cols * d), dims: [cols, d] },
        SA: { data: sx.subarray(r, r + m), dims: [m] },
        SB: { data: sx.subarray(0, cols), dims: [cols] },
      },
      { K: { data: k, dims: [m, cols] } },
    );
    for (let i = 0; i < m; i++) out.set(k.subarray(i * cols, (i + 1) * cols), (r + i) * n);
  }
  mirrorLowerTriangle(out, n);
}

/**
 * A[i][j] = A[j][i] for j > i (n × n, row-major), tile by tile: each 64 × 64 tile
 * below the diagonal is read row by row into a small buffer and written back
 * transposed, also row by row (a strided element-wise copy ran at ≈ 47 ns/value).
 */
export function mirrorLowerTriangle(a: Float32Array, n: number): void {
  const t = 64;
  const tile = new Float32Array(t * t);
  for (let j0 = 0; j0 < n; j0 += t) {
    const j1 = Math.min(n, j0 + t);
    for (let i0 = 0; i0 <= j0; i0 += t) {
      const i1 = Math.min(n, i0 + t);
      // tile[r][c] = A[j0 + r][i0 + c]: a block of the lower triangle (or the diagonal tile).
      for (let r = 0; r < j1 - j0; r++) tile.set(a.subarray((j0 + r) * n + i0, (j0 + r) * n + i1), r * t);
      for (let c = 0; c < i1 - i0; c++) {
        const row = (i0 + c) * n;
        const i = i0 + c;
        for (let r = 0; r < j1 - j0; r++) {
          const j = j0 + r;
          if (j > i) a[row + j] = tile[r * t + c];
        }
      }
    }
  }
}

function sameRows(a: Float32Array, b: Float32Array): boolean {
  return a === b || (a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length);
}

/** K(x, x) for every row of A (float32). */
export async function ntkDiag(be: Backend, a: Float32Array, na: number, d: number, depth = 1): Promise<Float32Array> {
  if (a.length !== na * d) throw new Error(`ntkDiag: A has ${a.length} values, want ${na}×${d}`);
  if (d < 1) throw new Error("ntkDiag: d (items) must be ≥ 1");
  const out = new Float32Array(na);
  if (na === 0) return out;
  const s = await be.session(ntkGraph("diag", depth));
  await be.run(s, { A: { data: a, dims: [na, d] } }, { K: { data: out, dims: [na] } });
  return out;
}


/** Σx² per user of a sparse matrix, for rows [start, end) (the Gram's row norms, without densifying). */
export function sparseRowSumSq(m: InteractionMatrix, start = 0, end = m.numUsers): Float32Array {
  const out = new Float32Array(end - start);
  for (let u = start; u < end; u++) {
    let s = 0;
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) s += m.values[p] * m.values[p];
    out[u - start] = s;
  }
  return out;
}
