/**
 * GF-CF (Shen, Wu, Zhang, Sun, Ma, Zhou, Zha, "How Powerful is Graph
 * Convolution for Recommendation?", CIKM 2021), Eq. 12 of the paper:
 *   R̃ = D_U^{-1/2} R D_I^{-1/2},   P̃ = R̃ᵀR̃              (normalised item Gram)
 *   scores(r_u) = r_u · (P̃ + α · D_I^{-1/2} V_k V_kᵀ D_I^{1/2})
 * where V_k holds the top-k right singular vectors of R̃ (the top-k
 * eigenvectors of P̃): the linear low-pass filter plus the ideal low-pass one.
 * α and k are chosen on validation (the authors used α = 0.3, k = 256).
 * Items without training interactions get D_I^{±1/2} = 0 (no score from them).
 *
 * P̃ is formed on the sparse or ORT path of EASE's item Gram, the top-k
 * eigenvectors by randomized subspace iteration (lib/linalg/truncated-svd.ts),
 * and the n × n filter and the scores through backend.matmul.
 */
import { InteractionMatrix } from "../data/matrix.ts";
import { type Eigenpairs, topEigenpairs } from "../linalg/truncated-svd.ts";
import { type Backend, type DeviceRequest, getBackend } from "../onnx/backend.ts";
import { itemGram } from "./ease/model.ts";
import type { FitOptions, HyperParameters, ItemItemLinear, Recommender } from "./model.ts";
import { type FitScratch, ScratchSlot } from "./scratch.ts";
import { timed, type Timings } from "./timings.ts";

/** Row and column sums of the values (user and item degrees; summed duplicates count twice). */
export function degrees(x: InteractionMatrix): { users: Float64Array; items: Float64Array } {
  const users = new Float64Array(x.numUsers);
  const items = new Float64Array(x.numItems);
  for (let u = 0; u < x.numUsers; u++) {
    const is = x.rowItems(u);
    const vs = x.rowValues(u);
    for (let a = 0; a < is.length; a++) {
      users[u] += vs[a];
      items[is[a]] += vs[a];
    }
  }
  return { users, items };
}

/** d^(−e), with 0 for a zero degree (an item nobody has: no signal, not infinity). */
export function inversePower(d: Float64Array, e: number): Float64Array {
  return d.map((v) => (v > 0 ? v ** -e : 0));
}

/**
 * R̃ᵀR̃ for R̃ = D_U^{-a} R D_I^{-b} (items × items): the Gram of the degree-scaled
 * matrix, through EASE's itemGram (sparse outer products or ORT blocks).
 */
export async function degreeScaledGram(x: InteractionMatrix, a: number, b: number, backend: Backend): Promise<Float32Array> {
  const d = degrees(x);
  const su = inversePower(d.users, a);
  const si = inversePower(d.items, b);
  const values = new Float32Array(x.nnz);
  for (let u = 0; u < x.numUsers; u++) {
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) values[p] = x.values[p] * su[u] * si[x.indices[p]];
  }
  return itemGram(new InteractionMatrix(x.numUsers, x.numItems, x.indptr, x.indices, values), backend);
}

export interface GFCFOptions {
  /** Weight α of the ideal low-pass term (0: the linear filter P̃ alone). */
  alpha: number;
  /** Number k of top singular vectors in the ideal low-pass term. */
  k: number;
  /** The largest k of the grid: one decomposition serves every candidate (default k). */
  maxK?: number;
  /** Subspace iterations of the truncated eigendecomposition (default 4). */
  iterations?: number;
  device?: DeviceRequest;
  backend?: Backend;
  /** Scratch shared by one grid search: P̃ and its top eigenpairs are computed once. */
  scratch?: FitScratch;
  timings?: Timings;
  /** Rows of the ideal low-pass term formed per product (default: about 2^20 values' worth). */
  filterBlockRows?: number;
}

interface SpectrumState {
  train: InteractionMatrix;
  gram: Float32Array;
  itemScale: Float64Array;
  eigen?: Eigenpairs;
}

/** Values per block of the ideal low-pass term's rows (≈ 4 MiB). */
const IDEAL_BLOCK_VALUES = 1 << 20;

/** P̃ and its top eigenpairs of one training matrix, shared across the α × k grid. */
const SPECTRUM_SLOT = new ScratchSlot<SpectrumState>("gf-cf:spectrum");

export class GFCF implements Recommender, ItemItemLinear {
  /** Scores are context · filter: saved as the filter (lib/models/artifact.ts). */
  readonly scoresAreContextTimesItemMatrix = true as const;
  readonly name = "gf-cf";
  private backend?: Backend;
  private filter?: Float32Array;
  private numItems = 0;
  /** The k in use: the option, clamped to min(users, items) of the training matrix. */
  private k: number;

  constructor(private readonly options: GFCFOptions) {
    if (!(Number.isFinite(options.alpha) && options.alpha >= 0)) throw new Error(`gf-cf: α must be finite and ≥ 0, got ${options.alpha}`);
    if (!Number.isInteger(options.k) || options.k < 1) throw new Error(`gf-cf: k must be a positive integer, got ${options.k}`);
    if (options.filterBlockRows !== undefined && !(Number.isInteger(options.filterBlockRows) && options.filterBlockRows > 0)) {
      throw new Error(`gf-cf: filterBlockRows must be a positive integer, got ${options.filterBlockRows}`);
    }
    this.backend = options.backend;
    this.k = options.k;
  }

  private async getBackend(): Promise<Backend> {
    this.backend ??= await getBackend({ device: this.options.device ?? "cpu" });
    return this.backend;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    if (train.nnz === 0) throw new Error("gf-cf: the training matrix has no interactions");
    const n = train.numItems;
    // k above the rank bound (a small DISTILL-CF summary) means every direction: clamp, and report the k used.
    const k = Math.min(this.options.k, n, train.numUsers);
    this.k = k;
    const backend = await this.getBackend();
    const timings = this.options.timings;
    this.filter = undefined;
    let state = this.options.scratch?.get(SPECTRUM_SLOT, "");
    if (!state || state.train !== train) {
      const gram = await timed(timings, "gram", () => degreeScaledGram(train, 0.5, 0.5, backend));
      state = { train, gram, itemScale: degrees(train).items.map(Math.sqrt) };
      this.options.scratch?.set(SPECTRUM_SLOT, "", state);
    }
    options.onProgress?.(0.3, "gram");
    // A grid's scratch keeps P̃ for the next candidate: the filter is then a copy, else P̃ itself.
    const filter = this.options.scratch ? Float32Array.from(state.gram) : state.gram;
    if (this.options.alpha > 0) {
      const st = state;
      const maxK = Math.min(Math.max(k, this.options.maxK ?? k), n, train.numUsers);
      if (!st.eigen || st.eigen.k < k) {
        st.eigen = await timed(timings, "eigen", () => topEigenpairs(st.gram, n, maxK, backend, { iterations: this.options.iterations, seed: options.seed ?? 0 }));
      }
      options.onProgress?.(0.8, "eigen");
      // α·D_I^{-1/2} V_k V_kᵀ D_I^{1/2} as (D_I^{-1/2}V_k)·(D_I^{1/2}V_k)ᵀ.
      const { vectors, k: stored } = st.eigen;
      const left = new Float32Array(n * k);
      const right = new Float32Array(n * k);
      for (let i = 0; i < n; i++) {
        const s = st.itemScale[i];
        const inv = s > 0 ? 1 / s : 0;
        for (let c = 0; c < k; c++) {
          const v = vectors[i * stored + c];
          left[i * k + c] = v * inv;
          right[i * k + c] = v * s;
        }
      }
      // Added by blocks of rows: no second n × n matrix beside the filter.
      const alpha = this.options.alpha;
      const rowsPerBlock = Math.max(1, Math.min(n, this.options.filterBlockRows ?? Math.floor(IDEAL_BLOCK_VALUES / n)));
      const block = new Float32Array(rowsPerBlock * n);
      await timed(timings, "filter", async () => {
        for (let r0 = 0; r0 < n; r0 += rowsPerBlock) {
          const rows = Math.min(rowsPerBlock, n - r0);
          const part = block.subarray(0, rows * n);
          await backend.matmul(left.subarray(r0 * k, (r0 + rows) * k), [rows, k], right, [n, k], { transB: true, out: part });
          const at = r0 * n;
          for (let i = 0; i < part.length; i++) filter[at + i] += alpha * part[i];
        }
      });
    }
    this.filter = filter;
    this.numItems = n;
    options.onProgress?.(1, "filter");
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const f = this.filter;
    if (!f) throw new Error("gf-cf.scoreBlock: call fit first");
    const n = this.numItems;
    if (context.numItems !== n) throw new Error(`gf-cf.scoreBlock: context has ${context.numItems} items, model ${n}`);
    const rows = end - start;
    const backend = await this.getBackend();
    await timed(this.options.timings, "score", () => backend.matmul(context.denseRows(start, end), [rows, n], f, [n, n], { out: out.subarray(0, rows * n) }));
  }

  hyperParameters(): HyperParameters {
    return { alpha: this.options.alpha, k: this.k };
  }

  dispose(): void {
    this.filter = undefined;
  }
}
