/**
 * The ∞-AE kernels (NTK or NNGP) of a sparse matrix's rows without forming
 * those rows as one dense |S| × items matrix: each graph run gets a block of
 * rows densified just before it. K(X_S, X_S) is computed by square tiles of
 * its lower block triangle and mirrored (exactly symmetric, as ntkGram's
 * lowerBlocksMirrored); K(A, X_S) for dense context rows A by chunks of
 * support rows. The dense matrix would be as large as ∞-AE's duals (ML-1M:
 * 86 MiB; a 25,000-user Netflix support: 1.7 GiB); a block costs one pass of
 * writes over values the GEMM reads anyway. The entries equal ntkGram's and
 * nngpGram's on the dense rows (the same graphs, per-entry arithmetic).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { Backend, Session } from "../onnx/backend.ts";
import { mirrorLowerTriangle, ntkDiag, rowSumSq } from "./gram.ts";
import { ntkGraph } from "./gram-graph.ts";
import type { AeKernel } from "./nngp.ts";
import { nngpGraph } from "./nngp-graph.ts";

/** Values per densified row block (rows × items): 64 MiB of float32. */
const DENSE_BLOCK_VALUES = 1 << 24;
/** Values per graph output (tile rows × tile columns), as GRAM_BLOCK_VALUES. */
const TILE_VALUES = 1 << 18;

export interface RowsGramOptions {
  /** Hidden layers (default 1). */
  depth?: number;
  /** Pre-allocated output (row-major); ORT writes each tile into a block, copied from there. */
  out?: Float32Array;
  /** Rows per dense block (default: about 2^20 values per tile, at most 2^24 per dense block). */
  block?: number;
}

function kernelSession(be: Backend, kernel: AeKernel, depth: number): Promise<Session> {
  return be.session(kernel === "nngp" ? nngpGraph(depth) : ntkGraph("gram_norms", depth));
}

function blockRows(fn: string, items: number, option: number | undefined, square: boolean): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1) throw new Error(`${fn}: block must be a positive integer, got ${option}`);
    return option;
  }
  const byTile = square ? Math.floor(Math.sqrt(TILE_VALUES)) : 512;
  return Math.max(16, Math.min(byTile, Math.floor(DENSE_BLOCK_VALUES / Math.max(1, items))));
}

/**
 * K(X, X) (n × n) of the rows of `x`, for the ∞-AE kernel `kernel`. The NTK's
 * diagonal comes from its diagonal graph, as in ntkGram.
 */
export async function kernelGramOfRows(be: Backend, kernel: AeKernel, x: InteractionMatrix, opts: RowsGramOptions = {}): Promise<Float32Array> {
  const fn = kernel === "nngp" ? "nngpGramOfRows" : "ntkGramOfRows";
  const n = x.numUsers;
  const d = x.numItems;
  if (d < 1) throw new Error(`${fn}: the rows have no items`);
  const depth = opts.depth ?? 1;
  const out = opts.out ?? new Float32Array(n * n);
  if (out.length !== n * n) throw new Error(`${fn}: out has ${out.length} values, need ${n}×${n}`);
  if (n === 0) return out;
  const t = Math.min(n, blockRows(fn, d, opts.block, true));
  const s = await kernelSession(be, kernel, depth);
  const rowsA = new Float32Array(t * d);
  const rowsB = new Float32Array(t * d);
  const tile = new Float32Array(t * t);
  // Σx² of each row block, from its dense rows when it is first block A; column blocks come before it.
  const sumSq = new Float32Array(n);
  for (let r0 = 0; r0 < n; r0 += t) {
    const r1 = Math.min(n, r0 + t);
    const a = x.denseRows(r0, r1, rowsA.subarray(0, (r1 - r0) * d));
    const sa = sumSq.subarray(r0, r1);
    sa.set(await rowSumSq(be, a, r1 - r0, d));
    for (let c0 = 0; c0 <= r0; c0 += t) {
      const c1 = Math.min(n, c0 + t);
      const same = c0 === r0;
      const b = same ? a : x.denseRows(c0, c1, rowsB.subarray(0, (c1 - c0) * d));
      const sb = sumSq.subarray(c0, c1);
      const k = tile.subarray(0, (r1 - r0) * (c1 - c0));
      await be.run(
        s,
        { A: { data: a, dims: [r1 - r0, d] }, B: { data: b, dims: [c1 - c0, d] }, SA: { data: sa, dims: [r1 - r0] }, SB: { data: sb, dims: [c1 - c0] } },
        { K: { data: k, dims: [r1 - r0, c1 - c0] } },
      );
      const w = c1 - c0;
      for (let i = 0; i < r1 - r0; i++) out.set(k.subarray(i * w, (i + 1) * w), (r0 + i) * n + c0);
    }
    if (kernel === "ntk") {
      const diag = await ntkDiag(be, a, r1 - r0, d, depth);
      for (let i = 0; i < r1 - r0; i++) out[(r0 + i) * n + r0 + i] = diag[i];
    }
  }
  mirrorLowerTriangle(out, n);
  return out;
}

/**
 * K(A, X) (na × |X|) for dense rows A (na × items) against the rows of `x`,
 * densified a chunk at a time. `xSumSq` is Σx² of x's rows (sparseRowSumSq),
 * as ntkGram's bSumSq.
 */
export async function kernelCrossOfRows(
  be: Backend, kernel: AeKernel, a: Float32Array, na: number, x: InteractionMatrix, xSumSq: Float32Array, opts: RowsGramOptions = {},
): Promise<Float32Array> {
  const fn = kernel === "nngp" ? "nngpCrossOfRows" : "ntkCrossOfRows";
  const nb = x.numUsers;
  const d = x.numItems;
  if (a.length !== na * d) throw new Error(`${fn}: A has ${a.length} values (want ${na}×${d})`);
  if (xSumSq.length !== nb) throw new Error(`${fn}: xSumSq has ${xSumSq.length} values, need ${nb}`);
  const out = opts.out ?? new Float32Array(na * nb);
  if (out.length !== na * nb) throw new Error(`${fn}: out has ${out.length} values, need ${na}×${nb}`);
  if (na === 0 || nb === 0) return out;
  const c = Math.min(nb, blockRows(fn, d, opts.block, false));
  const s = await kernelSession(be, kernel, opts.depth ?? 1);
  const sa = await rowSumSq(be, a, na, d);
  const rows = new Float32Array(c * d);
  const tile = new Float32Array(na * c);
  for (let c0 = 0; c0 < nb; c0 += c) {
    const c1 = Math.min(nb, c0 + c);
    const w = c1 - c0;
    const b = x.denseRows(c0, c1, rows.subarray(0, w * d));
    const k = tile.subarray(0, na * w);
    await be.run(
      s,
      { A: { data: a, dims: [na, d] }, B: { data: b, dims: [w, d] }, SA: { data: sa, dims: [na] }, SB: { data: xSumSq.subarray(c0, c1), dims: [w] } },
      { K: { data: k, dims: [na, w] } },
    );
    for (let i = 0; i < na; i++) out.set(k.subarray(i * w, (i + 1) * w), i * nb + c0);
  }
  return out;
}
