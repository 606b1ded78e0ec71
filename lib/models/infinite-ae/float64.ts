/**
 * ∞-AE on a small support (a DISTILL-CF summary or a few hundred sampled
 * users) with the kernel and the solve in float64 — InfiniteAE delegates here
 * for supports of at most FLOAT64_MAX_SUPPORT rows: K_SS and α = (K_SS + λ·tr(K_SS)/μ·I)⁻¹ X_S, as in
 * fast-step.ts. Summaries are dense near-uniform rows, so K_SS is very
 * ill-conditioned and a float32 solve is refused (residual check) for the small
 * λ that DISTILL-CF picks (1e-5, 1e-3); float64 costs little at μ = 500.
 * Scores K(X_C, X_S)·α: dots in float32 ORT, kernel values and the product
 * with α in float64 (ORT Gemm; float32 on request: `scorePrecision`).
 *
 * Neither K(S, S) nor the scored users' K(X_C, S) depends on λ: with a grid
 * search's scratch they are computed for the first λ and reused (a DISTILL-CF
 * validation, six λ on one summary: 20 → 12.6 s on ML-1M; 5.5 s with float32
 * scores). The inverse is L⁻ᵀ·L⁻¹ (triangular inverse in TypeScript, the
 * product as one float64 Gemm) instead of n solves against the identity.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import { ntkDotsWithGrad } from "../../ntk/ntk-grad.ts";
import { type AeKernel, checkAeKernel, nngpFromDots } from "../../ntk/nngp.ts";
import { spdInverseGemm } from "../../linalg/spd-inverse.ts";
import { type FitScratch, ScratchSlot } from "../scratch.ts";
import type { FitOptions, HyperParameters, Recommender } from "../model.ts";
import { type Backend, getBackend } from "../../onnx/backend.ts";
import { type GemmDType, runGemm } from "../../onnx/graphs/gemm.ts";

/** Pivot / diagonal ratio below which the float64 factorisation counts as singular. */
const FLOAT64_MIN_PIVOT_RATIO = 1e-13;

export interface InfiniteAEFloat64Options {
  lambda: number;
  depth?: number;
  /** "ntk" (default) or "nngp" (lib/ntk/nngp.ts). */
  kernel?: AeKernel;
  backend?: Backend;
  /**
   * Shared across a grid search's fits: the support's kernel matrix and the
   * scored users' kernel rows do not depend on λ, so the second and later λ
   * reuse them (a DISTILL-CF validation fits six λ on one summary).
   */
  scratch?: FitScratch;
  /** Precision of the scores K(users, S)·α (default float64; InfiniteAEOptions.scorePrecision). */
  scorePrecision?: "float64" | "float32";
}

/** K(S, S) before the ridge, for the support rows it was computed from. */
interface SupportKernel {
  rows: InteractionMatrix;
  xs: Float32Array;
  x64: Float64Array;
  norms: Float64Array;
  k: Float64Array;
  trace: number;
}

/** K(context rows, S) per scored block, for the support they belong to. */
interface CrossKernels {
  support: SupportKernel;
  bytes: number;
  blocks: WeakMap<InteractionMatrix, Map<string, Float64Array>>;
}

const SUPPORT_SLOT = new ScratchSlot<SupportKernel>("inf-ae-f64-support");
const CROSS_SLOT = new ScratchSlot<CrossKernels>("inf-ae-f64-cross");
/** Kernel rows kept per support for reuse across λ (ML-1M's 6,040 users × 500: 24 MB). */
const CROSS_CACHE_BYTES = 256 * 2 ** 20;

export class InfiniteAEFloat64 implements Recommender {
  readonly name = "inf-ae-f64";
  readonly lambda: number;
  readonly depth: number;
  readonly kernel: AeKernel;
  private backend?: Backend;
  private xs?: Float32Array;
  private normsS?: Float64Array;
  private alpha?: Float64Array;
  private support?: SupportKernel;
  private readonly scratch?: FitScratch;
  private readonly scorePrecision: "float64" | "float32";
  private alpha32Cache?: Float32Array;
  private n = 0;
  private items = 0;
  /** The ridge c = λ·tr(K)/n of the last fit. */
  shift = 0;

  constructor(options: InfiniteAEFloat64Options) {
    if (!Number.isFinite(options.lambda) || options.lambda < 0) throw new Error(`InfiniteAEFloat64: λ must be finite and ≥ 0, got ${options.lambda}`);
    this.lambda = options.lambda;
    this.depth = options.depth ?? 1;
    this.kernel = checkAeKernel(options.kernel ?? "ntk");
    this.backend = options.backend;
    this.scratch = options.scratch;
    this.scorePrecision = options.scorePrecision ?? "float64";
    if (this.scorePrecision !== "float64" && this.scorePrecision !== "float32") throw new Error(`InfiniteAEFloat64: scorePrecision must be float64 or float32, got ${String(this.scorePrecision)}`);
  }

  /** K from the inner products ⟨x,y⟩, Σx², Σy² (res and tape: ntkDotsWithGrad's scratch). */
  private kernelValue(xy: number, xx: number, yy: number, d: number, res: Float64Array, tape: Float64Array): number {
    return this.kernel === "nngp" ? nngpFromDots(xy, xx, yy, d, this.depth) : ntkDotsWithGrad(xy, xx, yy, d, this.depth, res, tape)[0];
  }

  private async gemm<T extends Float32Array | Float64Array>(
    dtype: GemmDType,
    a: T,
    aDims: [number, number],
    b: T,
    bDims: [number, number],
    transB: boolean,
    out: T,
    transA = false,
  ): Promise<T> {
    this.backend ??= await getBackend({ device: "cpu" });
    return runGemm(this.backend, dtype, a, aDims, transA, b, bDims, transB, out);
  }

  private kernelKey(): string {
    return `${this.kernel}${this.depth}`;
  }

  /** K(S, S) of the training rows, from the scratch when an earlier fit of this search computed it. */
  private async supportKernel(train: InteractionMatrix): Promise<SupportKernel> {
    const cached = this.scratch?.get(SUPPORT_SLOT, this.kernelKey());
    if (cached && cached.rows === train) return cached;
    const n = train.numUsers;
    const m = train.numItems;
    const xs = train.denseRows(0, n);
    const x64 = Float64Array.from(xs);
    const dots = await this.gemm("float64", x64, [n, m], x64, [n, m], true, new Float64Array(n * n));
    const norms = new Float64Array(n);
    for (let i = 0; i < n; i++) norms[i] = dots[i * n + i];
    const k = new Float64Array(n * n);
    const res = new Float64Array(4);
    const tape = new Float64Array(4 * this.depth);
    let trace = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) k[i * n + j] = this.kernelValue(dots[i * n + j], norms[i], norms[j], m, res, tape);
      trace += k[i * n + i];
    }
    const support = { rows: train, xs, x64, norms, k, trace };
    this.scratch?.set(SUPPORT_SLOT, this.kernelKey(), support);
    return support;
  }

  async fit(train: InteractionMatrix, _options: FitOptions = {}): Promise<void> {
    const n = train.numUsers;
    const m = train.numItems;
    if (n === 0 || m === 0 || train.nnz === 0) throw new Error(`InfiniteAEFloat64.fit: empty training matrix (${n}×${m})`);
    if (n > 4096) throw new Error(`InfiniteAEFloat64.fit: ${n} support rows; this float64 solve is meant for small summaries (≤ 4096)`);
    const support = await this.supportKernel(train);
    this.shift = (this.lambda * support.trace) / n;
    // (K + c·I)⁻¹ = L⁻ᵀ·L⁻¹: the factor and the triangular inverse in TypeScript, the product as one Gemm.
    this.backend ??= await getBackend({ device: "cpu" });
    const inv = await spdInverseGemm(this.backend, support.k, n, { shift: this.shift, minPivotRatio: FLOAT64_MIN_PIVOT_RATIO });
    this.alpha = await this.gemm("float64", inv, [n, n], support.x64, [n, m], false, new Float64Array(n * m));
    this.alpha32Cache = undefined;
    this.support = support;
    this.xs = support.xs;
    this.normsS = support.norms;
    this.n = n;
    this.items = m;
  }

  /** K(context rows [start, end), S), reused across λ through the scratch while it fits in CROSS_CACHE_BYTES. */
  private async crossKernel(context: InteractionMatrix, start: number, end: number, ctx: Float32Array): Promise<Float64Array> {
    const m = this.items;
    const n = this.n;
    const rows = end - start;
    const key = `${start}:${end}`;
    let cache = this.scratch?.get(CROSS_SLOT, this.kernelKey());
    if (this.scratch && (!cache || cache.support !== this.support)) {
      cache = this.scratch.set(CROSS_SLOT, this.kernelKey(), { support: this.support!, bytes: 0, blocks: new WeakMap() });
    }
    const hit = cache?.blocks.get(context)?.get(key);
    if (hit) return hit;
    const dots = await this.gemm("float32", ctx, [rows, m], this.xs!, [n, m], true, new Float32Array(rows * n));
    const kcs = new Float64Array(rows * n);
    const res = new Float64Array(4);
    const tape = new Float64Array(4 * this.depth);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let i = r * m; i < (r + 1) * m; i++) norm += ctx[i] * ctx[i];
      for (let j = 0; j < n; j++) kcs[r * n + j] = this.kernelValue(dots[r * n + j], norm, this.normsS![j], m, res, tape);
    }
    if (cache && cache.bytes + kcs.byteLength <= CROSS_CACHE_BYTES) {
      let perContext = cache.blocks.get(context);
      if (!perContext) cache.blocks.set(context, (perContext = new Map()));
      perContext.set(key, kcs);
      cache.bytes += kcs.byteLength;
    }
    return kcs;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (!this.alpha || !this.xs || !this.normsS) throw new Error("InfiniteAEFloat64.scoreBlock: call fit first");
    const m = this.items;
    if (context.numItems !== m) throw new Error(`InfiniteAEFloat64.scoreBlock: context has ${context.numItems} items, model ${m}`);
    const rows = end - start;
    const n = this.n;
    const kcs = await this.crossKernel(context, start, end, context.denseRows(start, end));
    if (this.scorePrecision === "float32") {
      this.alpha32Cache ??= Float32Array.from(this.alpha);
      await this.gemm("float32", Float32Array.from(kcs), [rows, n], this.alpha32Cache, [n, m], false, out.subarray(0, rows * m));
      return;
    }
    const scores = await this.gemm("float64", kcs, [rows, n], this.alpha, [n, m], false, new Float64Array(rows * m));
    out.set(scores);
  }

  /** α (|S| × items) in float64. */
  get alpha64(): Float64Array {
    if (!this.alpha) throw new Error("InfiniteAEFloat64: call fit first");
    return this.alpha;
  }

  /** α as float32 (|S| × items), for artifacts. */
  get alpha32(): Float32Array {
    if (!this.alpha) throw new Error("InfiniteAEFloat64: call fit first");
    return Float32Array.from(this.alpha);
  }

  hyperParameters(): HyperParameters {
    return { lambda: this.lambda, depth: this.depth, ...(this.kernel === "ntk" ? {} : { kernel: this.kernel }), solve: "float64" };
  }
}
