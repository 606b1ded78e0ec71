/**
 * ∞-AE on a small support (a DISTILL-CF summary or a few hundred sampled
 * users) with the kernel and the solve in float64 — InfiniteAE delegates here
 * for supports of at most FLOAT64_MAX_SUPPORT rows: K_SS and α = (K_SS + λ·tr(K_SS)/μ·I)⁻¹ X_S, as in
 * fast-step.ts. Summaries are dense near-uniform rows, so K_SS is very
 * ill-conditioned and a float32 solve is refused (residual check) for the small
 * λ that DISTILL-CF picks (1e-5, 1e-3); float64 costs little at μ = 500.
 * Scores K(X_C, X_S)·α: dots in float32 ORT, kernel values and the product
 * with α in float64 (ORT Gemm).
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import { ntkDotsWithGrad } from "../../ntk/ntk-grad.ts";
import { type AeKernel, checkAeKernel, nngpFromDots } from "../../ntk/nngp.ts";
import { spdInverse } from "../../linalg/cholesky.ts";
import type { FitOptions, HyperParameters, Recommender } from "../model.ts";
import { type Backend, getBackend } from "../../onnx/backend.ts";
import { gemmSpec, type GemmDType } from "../../onnx/graphs/gemm.ts";

/** Pivot / diagonal ratio below which the float64 factorisation counts as singular. */
const FLOAT64_MIN_PIVOT_RATIO = 1e-13;

export interface InfiniteAEFloat64Options {
  lambda: number;
  depth?: number;
  /** "ntk" (default) or "nngp" (lib/ntk/nngp.ts). */
  kernel?: AeKernel;
  backend?: Backend;
}

export class InfiniteAEFloat64 implements Recommender {
  readonly name = "inf-ae-f64";
  readonly lambda: number;
  readonly depth: number;
  readonly kernel: AeKernel;
  private backend?: Backend;
  private xs?: Float32Array;
  private normsS?: Float64Array;
  private alpha?: Float64Array;
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
  }

  /** K from the inner products ⟨x,y⟩, Σx², Σy² (res and tape: ntkDotsWithGrad's scratch). */
  private kernelValue(xy: number, xx: number, yy: number, d: number, res: Float64Array, tape: Float64Array): number {
    return this.kernel === "nngp" ? nngpFromDots(xy, xx, yy, d, this.depth) : ntkDotsWithGrad(xy, xx, yy, d, this.depth, res, tape)[0];
  }

  private async gemm<T extends Float32Array | Float64Array>(dtype: GemmDType, a: T, aDims: [number, number], b: T, bDims: [number, number], transB: boolean, out: T): Promise<T> {
    this.backend ??= await getBackend({ device: "cpu" });
    const s = await this.backend.session(gemmSpec(dtype, false, transB));
    const n = transB ? bDims[0] : bDims[1];
    await this.backend.run(s, { A: { data: a, dims: aDims }, B: { data: b, dims: bDims } }, { Y: { data: out, dims: [aDims[0], n] } });
    return out;
  }

  async fit(train: InteractionMatrix, _options: FitOptions = {}): Promise<void> {
    const n = train.numUsers;
    const m = train.numItems;
    if (n === 0 || m === 0 || train.nnz === 0) throw new Error(`InfiniteAEFloat64.fit: empty training matrix (${n}×${m})`);
    if (n > 4096) throw new Error(`InfiniteAEFloat64.fit: ${n} support rows; this float64 solve is meant for small summaries (≤ 4096)`);
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
    this.shift = (this.lambda * trace) / n;
    const inv = spdInverse(k, n, { shift: this.shift, minPivotRatio: FLOAT64_MIN_PIVOT_RATIO });
    this.alpha = await this.gemm("float64", inv, [n, n], x64, [n, m], false, new Float64Array(n * m));
    this.xs = xs;
    this.normsS = norms;
    this.n = n;
    this.items = m;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (!this.alpha || !this.xs || !this.normsS) throw new Error("InfiniteAEFloat64.scoreBlock: call fit first");
    const m = this.items;
    if (context.numItems !== m) throw new Error(`InfiniteAEFloat64.scoreBlock: context has ${context.numItems} items, model ${m}`);
    const rows = end - start;
    const n = this.n;
    const ctx = context.denseRows(start, end);
    const dots = await this.gemm("float32", ctx, [rows, m], this.xs, [n, m], true, new Float32Array(rows * n));
    const kcs = new Float64Array(rows * n);
    const res = new Float64Array(4);
    const tape = new Float64Array(4 * this.depth);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let i = r * m; i < (r + 1) * m; i++) norm += ctx[i] * ctx[i];
      for (let j = 0; j < n; j++) kcs[r * n + j] = this.kernelValue(dots[r * n + j], norm, this.normsS[j], m, res, tape);
    }
    const scores = await this.gemm("float64", kcs, [rows, n], this.alpha, [n, m], false, new Float64Array(rows * m));
    for (let i = 0; i < rows * m; i++) out[i] = scores[i];
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
