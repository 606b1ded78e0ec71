/**
 * SVD-AE (Hong, Choi, Park, "SVD-AE: Simple Autoencoders for Collaborative
 * Filtering", IJCAI 2024): a linear autoencoder whose closed form uses the
 * pseudo-inverse of a rank-k truncated SVD of the normalised matrix.
 *   R̃ = D_U^{-1/2} R D_I^{-1/2} ≈ U_k Σ_k V_kᵀ,   R̃_k⁺ = V_k Σ_k⁻¹ U_kᵀ
 *   scores = R̃ · R̃_k⁺ · R   (users × items)
 * For a context row r_u this is r̃_u · W with the item × item
 *   W = R̃_k⁺ R = V_k Σ_k⁻² V_kᵀ · (R̃ᵀR),   R̃ᵀR = D_I^{-1/2} Rᵀ D_U^{-1/2} R
 * (U_k = R̃ V_k Σ_k⁻¹), kept in factored form: r̃_u V_k (1 × k) times
 * C = Σ_k⁻² V_kᵀ R̃ᵀR (k × items). r̃_u = d_u^{-1/2} r_u D_I^{-1/2} with the
 * context row's own degree d_u (a per-user factor: rankings do not depend on it).
 * The authors fixed k per dataset (e.g. 148 on ML-1M); here k is chosen on
 * validation from the registry's grid.
 *
 * V_k and σ_k² come from the top eigenpairs of R̃ᵀR̃ (randomized subspace
 * iteration, lib/linalg/truncated-svd.ts); directions with σ² ≤ 1e-5·σ_1²
 * are left out of the pseudo-inverse (below that the float32 Gram's rounding,
 * not the data, sets them).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { type Eigenpairs, topEigenpairs } from "../linalg/truncated-svd.ts";
import { type Backend, type DeviceRequest, getBackend } from "../onnx/backend.ts";
import { degreeScaledGram, degrees, inversePower } from "./gf-cf.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { type FitScratch, ScratchSlot } from "./scratch.ts";
import { timed, type Timings } from "./timings.ts";

/** Relative eigenvalue floor of the pseudo-inverse. */
export const SVD_AE_RELATIVE_FLOOR = 1e-5;

export interface SVDAEOptions {
  /** Rank k of the truncated SVD. */
  k: number;
  /** The largest k of the grid: one decomposition serves every candidate (default k). */
  maxK?: number;
  /** Subspace iterations of the truncated eigendecomposition (default 4). */
  iterations?: number;
  device?: DeviceRequest;
  backend?: Backend;
  /** Scratch shared by one grid search: the Grams and the top eigenpairs are computed once. */
  scratch?: FitScratch;
  timings?: Timings;
}

interface SpectrumState {
  train: InteractionMatrix;
  /** R̃ᵀR (items × items). */
  cross: Float32Array;
  itemScale: Float64Array;
  eigen: Eigenpairs;
}

const SPECTRUM_SLOT = new ScratchSlot<SpectrumState>("svd-ae:spectrum");

export class SVDAE implements Recommender {
  readonly name = "svd-ae";
  private backend?: Backend;
  /** D_I^{-1/2} V_k (items × k). */
  private encoder?: Float32Array;
  /** Σ_k⁻² V_kᵀ R̃ᵀR (k × items). */
  private decoder?: Float32Array;
  private numItems = 0;
  /** The k in use: the option, clamped to min(users, items) of the training matrix. */
  private k: number;

  constructor(private readonly options: SVDAEOptions) {
    if (!Number.isInteger(options.k) || options.k < 1) throw new Error(`svd-ae: k must be a positive integer, got ${options.k}`);
    this.backend = options.backend;
    this.k = options.k;
  }

  private async getBackend(): Promise<Backend> {
    this.backend ??= await getBackend({ device: this.options.device ?? "cpu" });
    return this.backend;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    if (train.nnz === 0) throw new Error("svd-ae: the training matrix has no interactions");
    const n = train.numItems;
    const rankBound = Math.min(n, train.numUsers);
    // k above the rank bound (a small DISTILL-CF summary) means every direction: clamp, and report the k used.
    const k = Math.min(this.options.k, rankBound);
    this.k = k;
    const backend = await this.getBackend();
    const timings = this.options.timings;
    this.encoder = this.decoder = undefined;
    let state = this.options.scratch?.get(SPECTRUM_SLOT, "");
    if (!state || state.train !== train || state.eigen.k < k) {
      const gram = await timed(timings, "gram", () => degreeScaledGram(train, 0.5, 0.5, backend));
      options.onProgress?.(0.2, "gram");
      const maxK = Math.min(Math.max(k, this.options.maxK ?? k), rankBound);
      const eigen = await timed(timings, "eigen", () => topEigenpairs(gram, n, maxK, backend, { iterations: this.options.iterations, seed: options.seed ?? 0 }));
      options.onProgress?.(0.7, "eigen");
      // R̃ᵀR = D_I^{-1/2}·(Rᵀ D_U^{-1/2} R): the Gram of D_U^{-1/4} R, then the row scale.
      const itemScale = inversePower(degrees(train).items, 0.5);
      const cross = await timed(timings, "gram", () => degreeScaledGram(train, 0.25, 0, backend));
      for (let i = 0; i < n; i++) {
        const s = itemScale[i];
        for (let j = 0; j < n; j++) cross[i * n + j] *= s;
      }
      state = { train, cross, itemScale, eigen };
      this.options.scratch?.set(SPECTRUM_SLOT, "", state);
    }
    const { vectors, values, k: stored } = state.eigen;
    const floor = values[0] * SVD_AE_RELATIVE_FLOOR;
    const encoder = new Float32Array(n * k);
    const vk = new Float32Array(k * n); // V_kᵀ, for the decoder's product
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const v = vectors[i * stored + c];
        encoder[i * k + c] = v * state.itemScale[i];
        vk[c * n + i] = v;
      }
    }
    const decoder = await timed(timings, "decoder", () => backend.matmul(vk, [k, n], state.cross, [n, n]));
    for (let c = 0; c < k; c++) {
      const w = values[c] > floor ? 1 / values[c] : 0;
      for (let j = 0; j < n; j++) decoder[c * n + j] *= w;
    }
    this.encoder = encoder;
    this.decoder = decoder;
    this.numItems = n;
    options.onProgress?.(1, "weights");
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const { encoder, decoder } = this;
    if (!encoder || !decoder) throw new Error("svd-ae.scoreBlock: call fit first");
    const n = this.numItems;
    const k = this.k;
    if (context.numItems !== n) throw new Error(`svd-ae.scoreBlock: context has ${context.numItems} items, model ${n}`);
    const rows = end - start;
    const backend = await this.getBackend();
    await timed(this.options.timings, "score", async () => {
      const x = context.denseRows(start, end);
      for (let r = 0; r < rows; r++) {
        let d = 0;
        for (let p = context.indptr[start + r]; p < context.indptr[start + r + 1]; p++) d += context.values[p];
        const s = d > 0 ? 1 / Math.sqrt(d) : 0;
        for (let j = 0; j < n; j++) x[r * n + j] *= s;
      }
      const code = await backend.matmul(x, [rows, n], encoder, [n, k]);
      await backend.matmul(code, [rows, k], decoder, [k, n], { out: out.subarray(0, rows * n) });
    });
  }

  hyperParameters(): HyperParameters {
    return { k: this.k };
  }

  dispose(): void {
    this.encoder = this.decoder = undefined;
  }
}
